// SPDX-License-Identifier: GPL-2.0
/*
 * The aggregator's crash-safe version registry: see store.h for the layout
 * and the recovery rules.
 *
 * Everything goes through a directory fd (openat/renameat/unlinkat), so the
 * registry stays the same directory even if its path is renamed or the
 * daemon chroots, and every fsync of "the directory" is of that fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "models/engine/sha256.h"
#include "runtime/lib/atomicfile.h"
#include "runtime/fed/proto.h"
#include "runtime/fed/store.h"

#define MCAI_STATE_FILE		"state"
#define MCAI_TMP_PREFIX		".tmp-"
#define MCAI_TEXT_MAX		4096	/* state and manifest files */

void (*mcai_store_test_hook)(const char *step);

struct mcai_store {
	int dfd;
	bool renamed;		/* the last atomic write got as far as rename */
	uint64_t last_round;
	uint32_t latest;
	unsigned int recovered;
	char error[MCAI_STORE_ERR_MAX];
};

static int mcai_serr(struct mcai_store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int mcai_serr(struct mcai_store *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	return err;
}

static void mcai_hook(const char *step)
{
	if (mcai_store_test_hook)
		mcai_store_test_hook(step);
}

const char *mcai_store_error(const struct mcai_store *s)
{
	return s->error;
}

uint64_t mcai_store_last_round(const struct mcai_store *s)
{
	return s->last_round;
}

uint32_t mcai_store_latest_version(const struct mcai_store *s)
{
	return s->latest;
}

unsigned int mcai_store_recovered(const struct mcai_store *s)
{
	return s->recovered;
}

/* ---------------------------------------------------------------------- */
/* Atomic files                                                           */
/* ---------------------------------------------------------------------- */

/* The bytes of one file. */
struct mcai_src {
	const void *data;
	size_t len;
};

/* What the test hook is told about one atomic write. */
struct mcai_step_ctx {
	struct mcai_store *s;
	const char *step;
};

static void mcai_atomic_step(enum mcai_atomic_step step, void *arg)
{
	struct mcai_step_ctx *c = arg;
	char hook[48];

	/* A failed directory fsync after this still leaves the new file. */
	if (step == MCAI_ATOMIC_RENAMED)
		c->s->renamed = true;
	snprintf(hook, sizeof(hook), "%s-%s", c->step,
		 step == MCAI_ATOMIC_RENAMED ? "renamed" : "written");
	mcai_hook(hook);
}

/*
 * temp file, write, fsync, rename, fsync the directory.  @step names the
 * file for the test hook ("blob" -> "blob-written", "blob-renamed").
 */
static int mcai_store_write(struct mcai_store *s, const char *name,
			    const struct mcai_src *src, const char *step)
{
	struct mcai_step_ctx c = { .s = s, .step = step };
	struct iovec iov = { .iov_base = (void *)src->data,
			     .iov_len = src->len };
	char tmp[64];

	s->renamed = false;
	snprintf(tmp, sizeof(tmp), MCAI_TMP_PREFIX "%s", name);
	return mcai_atomic_writev_at(s->dfd, name, tmp, &iov, 1, 0600,
				     mcai_atomic_step, &c, s->error,
				     sizeof(s->error));
}

/* Whole small or large file; -EFBIG past @max, *len its size. */
static int mcai_read_file(struct mcai_store *s, const char *name, size_t max,
			  uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, err = 0;

	*out = NULL;
	*len = 0;
	fd = openat(s->dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mcai_serr(s, -errno, "open %s: %s", name,
				 strerror(errno));
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return mcai_serr(s, err, "stat %s: %s", name, strerror(-err));
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return mcai_serr(s, -EFBIG, "%s: not a file of at most %zu bytes",
				 name, max);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return mcai_serr(s, -ENOMEM, "%s: out of memory", name);
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = mcai_serr(s, -errno, "read %s: %s", name,
					strerror(errno));
			break;
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[got] = 0;		/* text files are parsed as strings */
	*out = buf;
	*len = got;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Text formats                                                           */
/* ---------------------------------------------------------------------- */

static void mcai_hex(const uint8_t *d, char *out)
{
	static const char x[] = "0123456789abcdef";
	int i;

	for (i = 0; i < MCAI_DIGEST_LEN; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * MCAI_DIGEST_LEN] = 0;
}

static bool mcai_unhex(const char *s, uint8_t *d)
{
	int i;

	if (strlen(s) != 2 * MCAI_DIGEST_LEN)
		return false;
	for (i = 0; i < 2 * MCAI_DIGEST_LEN; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return false;
		if (i & 1)
			d[i / 2] |= (uint8_t)v;
		else
			d[i / 2] = (uint8_t)(v << 4);
	}
	return true;
}

static bool mcai_strategy_ok(const char *s)
{
	size_t i, n = strnlen(s, MCAI_STORE_STRATEGY_MAX + 1);

	if (n > MCAI_STORE_STRATEGY_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

/* Parse a decimal u64 that is the whole of @v. */
static bool mcai_u64(const char *v, uint64_t max, uint64_t *out)
{
	unsigned long long x;
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (*end || errno || x > max)
		return false;
	*out = x;
	return true;
}

static int mcai_format_manifest(const struct mcai_version_info *v, char *buf,
				size_t len)
{
	char bh[2 * MCAI_DIGEST_LEN + 1], ph[2 * MCAI_DIGEST_LEN + 1];

	mcai_hex(v->blob_sha256, bh);
	mcai_hex(v->params_sha256, ph);
	return snprintf(buf, len,
			"mcai-manifest 1\n"
			"name %s\nversion %u\nparent %u\nround %llu\n"
			"strategy %s\nparticipants %u\nn_params %u\n"
			"blob_len %u\nblob_sha256 %s\nparams_sha256 %s\n"
			"created %lld\naccuracy %.9g\nloss %.9g\n",
			v->name, v->version, v->parent,
			(unsigned long long)v->round,
			v->strategy[0] ? v->strategy : "-", v->participants,
			v->n_params, v->blob_len, bh, ph,
			(long long)v->created, v->accuracy, v->loss);
}

/*
 * A strict reader: the manifest is ours, so anything unexpected means the
 * disk or someone else changed it, and we say so rather than guess.
 */
static int mcai_parse_manifest(struct mcai_store *s, const char *fname,
			       char *text, struct mcai_version_info *v)
{
	enum { F_NAME, F_VER, F_PARENT, F_ROUND, F_STRAT, F_PART, F_NP,
	       F_BL, F_BH, F_PH, F_CREATED, F_ACC, F_LOSS, F_N };
	static const char *const keys[F_N] = {
		"name", "version", "parent", "round", "strategy",
		"participants", "n_params", "blob_len", "blob_sha256",
		"params_sha256", "created", "accuracy", "loss",
	};
	unsigned int seen = 0, ln = 1;
	char *line, *save = NULL;
	uint64_t u = 0;

	memset(v, 0, sizeof(*v));
	line = strtok_r(text, "\n", &save);
	if (!line || strcmp(line, "mcai-manifest 1"))
		return mcai_serr(s, -EBADMSG, "%s: not a version 1 manifest",
				 fname);
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *val = strchr(line, ' ');
		int k;
		bool ok = true;

		ln++;
		if (!val)
			return mcai_serr(s, -EBADMSG, "%s:%u: bad line", fname,
					 ln);
		*val++ = 0;
		for (k = 0; k < F_N; k++)
			if (!strcmp(line, keys[k]))
				break;
		if (k == F_N || (seen & (1U << k)))
			return mcai_serr(s, -EBADMSG,
					 "%s:%u: unknown or repeated key '%s'",
					 fname, ln, line);
		seen |= 1U << k;
		switch (k) {
		case F_NAME:
			ok = mcai_proto_name_ok(val);
			if (ok)
				strcpy(v->name, val);
			break;
		case F_STRAT:
			if (!strcmp(val, "-"))
				val = "";
			ok = mcai_strategy_ok(val);
			if (ok)
				strcpy(v->strategy, val);
			break;
		case F_BH:
			ok = mcai_unhex(val, v->blob_sha256);
			break;
		case F_PH:
			ok = mcai_unhex(val, v->params_sha256);
			break;
		case F_CREATED:
			ok = mcai_u64(val, INT64_MAX, &u);
			v->created = (int64_t)u;
			break;
		case F_ACC:
		case F_LOSS: {
			char *end;
			double d = strtod(val, &end);

			ok = *val && !*end && !isnan(d);
			*(k == F_ACC ? &v->accuracy : &v->loss) = d;
			break;
		}
		case F_ROUND:
			ok = mcai_u64(val, UINT64_MAX, &v->round);
			break;
		default:
			ok = mcai_u64(val, UINT32_MAX, &u);
			if (k == F_VER)
				v->version = (uint32_t)u;
			else if (k == F_PARENT)
				v->parent = (uint32_t)u;
			else if (k == F_PART)
				v->participants = (uint32_t)u;
			else if (k == F_NP)
				v->n_params = (uint32_t)u;
			else
				v->blob_len = (uint32_t)u;
			break;
		}
		if (!ok)
			return mcai_serr(s, -EBADMSG, "%s:%u: bad %s '%s'",
					 fname, ln, keys[k], val);
	}
	if (seen != (1U << F_N) - 1)
		return mcai_serr(s, -EBADMSG, "%s: missing keys", fname);
	if (v->n_params > MCAI_STORE_MAX_PARAMS ||
	    v->blob_len > MCAI_STORE_MAX_BLOB || !v->version ||
	    v->parent >= v->version)
		return mcai_serr(s, -EBADMSG, "%s: values out of range", fname);
	return 0;
}

static void mcai_vname(char *buf, size_t len, uint32_t version,
		       const char *ext)
{
	snprintf(buf, len, "v%08u.%s", version, ext);
}

/* "v00000007.blob" -> 7; 0 for anything that is not a version file. */
static uint32_t mcai_version_of(const char *name)
{
	static const char *const exts[] = { "blob", "params", "manifest" };
	uint64_t v;
	char num[9];
	size_t i;

	if (name[0] != 'v' || strlen(name) < 11 || name[9] != '.')
		return 0;
	memcpy(num, name + 1, 8);
	num[8] = 0;
	if (!mcai_u64(num, UINT32_MAX, &v))
		return 0;
	for (i = 0; i < 3; i++)
		if (!strcmp(name + 10, exts[i]))
			return (uint32_t)v;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* State                                                                  */
/* ---------------------------------------------------------------------- */

static int mcai_read_state(struct mcai_store *s)
{
	uint64_t round, version;
	uint8_t *text;
	size_t len;
	char *l1, *l2, *l3, *save = NULL;
	int err;

	err = mcai_read_file(s, MCAI_STATE_FILE, MCAI_TEXT_MAX, &text, &len);
	if (err == -ENOENT) {
		s->last_round = 0;
		s->latest = 0;
		return 0;
	}
	if (err)
		return err;
	l1 = strtok_r((char *)text, "\n", &save);
	l2 = strtok_r(NULL, "\n", &save);
	l3 = strtok_r(NULL, "\n", &save);
	if (!l1 || !l2 || !l3 || strtok_r(NULL, "\n", &save) ||
	    strcmp(l1, "mcai-registry 1") || strncmp(l2, "round ", 6) ||
	    strncmp(l3, "version ", 8) ||
	    !mcai_u64(l2 + 6, UINT64_MAX, &round) ||
	    !mcai_u64(l3 + 8, UINT32_MAX, &version)) {
		free(text);
		return mcai_serr(s, -EBADMSG, "state file is corrupt");
	}
	free(text);
	s->last_round = round;
	s->latest = (uint32_t)version;
	return 0;
}

static int mcai_write_state(struct mcai_store *s, uint64_t round,
			    uint32_t version)
{
	char buf[128];
	struct mcai_src src = { buf, 0 };

	src.len = (size_t)snprintf(buf, sizeof(buf),
				   "mcai-registry 1\nround %llu\nversion %u\n",
				   (unsigned long long)round, version);
	return mcai_store_write(s, MCAI_STATE_FILE, &src, "state");
}

/* ---------------------------------------------------------------------- */
/* Open and recovery                                                      */
/* ---------------------------------------------------------------------- */

/*
 * Remove what a crash left: temp files, and versions past the state's.
 * Their files are gone before anyone could use them: see store.h.
 */
static int mcai_recover(struct mcai_store *s)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(s->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mcai_serr(s, -errno, "open registry: %s",
				 strerror(errno));
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return mcai_serr(s, -errno, "read registry: %s",
				 strerror(errno));
	}
	while ((de = readdir(d))) {
		uint32_t v = mcai_version_of(de->d_name);
		bool stale = !strncmp(de->d_name, MCAI_TMP_PREFIX,
				      strlen(MCAI_TMP_PREFIX)) ||
			     v > s->latest;

		if (!stale)
			continue;
		if (unlinkat(s->dfd, de->d_name, 0) && errno != ENOENT) {
			int err = -errno;

			closedir(d);
			return mcai_serr(s, err, "remove stale %s: %s",
					 de->d_name, strerror(-err));
		}
		s->recovered++;
	}
	closedir(d);
	if (s->recovered && fsync(s->dfd))
		return mcai_serr(s, -errno, "fsync registry: %s",
				 strerror(errno));
	return 0;
}

int mcai_store_open(struct mcai_store **out, const char *dir, char *err,
		    size_t errlen)
{
	struct mcai_version_info info;
	struct mcai_store *s;
	int ret;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		ret = mcai_serr(s, -errno, "create %s: %s", dir,
				strerror(errno));
		goto fail;
	}
	s->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0) {
		ret = mcai_serr(s, -errno, "open %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* Two aggregators on one registry would interleave versions. */
	if (flock(s->dfd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ?
		      mcai_serr(s, -EBUSY, "%s is in use by another process",
				dir) :
		      mcai_serr(s, -errno, "lock %s: %s", dir, strerror(errno));
		goto fail_fd;
	}
	ret = mcai_read_state(s);
	if (!ret)
		ret = mcai_recover(s);
	if (!ret && s->latest) {
		/* The state names a version: it must be whole. */
		ret = mcai_store_info(s, s->latest, &info);
		if (ret) {
			char why[MCAI_STORE_ERR_MAX];

			snprintf(why, sizeof(why), "%s", s->error);
			ret = mcai_serr(s, ret,
					"state names version %u, which is unreadable: %.160s",
					s->latest, why);
		}
	}
	if (ret)
		goto fail_fd;
	*out = s;
	return 0;
fail_fd:
	close(s->dfd);
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s", s->error);
	free(s);
	return ret;
}

void mcai_store_close(struct mcai_store *s)
{
	if (!s)
		return;
	close(s->dfd);		/* drops the flock too */
	free(s);
}

/* ---------------------------------------------------------------------- */
/* Publish                                                                */
/* ---------------------------------------------------------------------- */

int mcai_store_publish(struct mcai_store *s, struct mcai_version_info *info,
		       const float *params, const uint8_t *blob)
{
	char name[32], text[MCAI_TEXT_MAX];
	struct mcai_src src;
	struct mcai_sha256 h;
	uint8_t *le;
	size_t i;
	int n, err;

	if (!mcai_proto_name_ok(info->name))
		return mcai_serr(s, -EINVAL, "bad model name");
	if (!mcai_strategy_ok(info->strategy))
		return mcai_serr(s, -EINVAL, "bad strategy name");
	if (info->version != s->latest + 1 || info->parent != s->latest)
		return mcai_serr(s, -EINVAL,
				 "version %u (parent %u) does not follow %u",
				 info->version, info->parent, s->latest);
	if (info->round <= s->last_round &&
	    !(info->round == 0 && s->last_round == 0 && s->latest == 0))
		return mcai_serr(s, -EINVAL,
				 "round %llu is not after the last completed %llu",
				 (unsigned long long)info->round,
				 (unsigned long long)s->last_round);
	if (info->n_params > MCAI_STORE_MAX_PARAMS ||
	    info->blob_len > MCAI_STORE_MAX_BLOB ||
	    (info->n_params && !params) || (info->blob_len && !blob))
		return mcai_serr(s, -EINVAL, "bad parameter or blob size");
	for (i = 0; i < info->n_params; i++)
		if (!isfinite(params[i]))
			return mcai_serr(s, -EINVAL,
					 "non-finite parameter at index %zu",
					 i);

	/* Digest of the bytes as stored: little-endian floats. */
	mcai_sha256(blob ? (const void *)blob : "", info->blob_len,
		    info->blob_sha256);
	le = malloc((size_t)info->n_params * 4 + 1);
	if (!le)
		return mcai_serr(s, -ENOMEM, "out of memory");
	mcai_sha256_init(&h);
	for (i = 0; i < info->n_params; i++) {
		uint32_t bits;

		memcpy(&bits, &params[i], 4);
		le[4 * i] = (uint8_t)bits;
		le[4 * i + 1] = (uint8_t)(bits >> 8);
		le[4 * i + 2] = (uint8_t)(bits >> 16);
		le[4 * i + 3] = (uint8_t)(bits >> 24);
	}
	mcai_sha256_update(&h, le, (size_t)info->n_params * 4);
	mcai_sha256_final(&h, info->params_sha256);
	info->created = (int64_t)time(NULL);

	mcai_vname(name, sizeof(name), info->version, "blob");
	src = (struct mcai_src){ blob ? (const void *)blob : "",
				 info->blob_len };
	err = mcai_store_write(s, name, &src, "blob");
	if (!err) {
		mcai_vname(name, sizeof(name), info->version, "params");
		src = (struct mcai_src){ le, (size_t)info->n_params * 4 };
		err = mcai_store_write(s, name, &src, "params");
	}
	free(le);
	if (!err) {
		n = mcai_format_manifest(info, text, sizeof(text));
		mcai_vname(name, sizeof(name), info->version, "manifest");
		src = (struct mcai_src){ text, (size_t)n };
		err = mcai_store_write(s, name, &src, "manifest");
	}
	/* The version exists once the state names it, not before. */
	if (!err) {
		err = mcai_write_state(s, info->round, info->version);
		/*
		 * Renamed but the directory fsync failed: the new state may
		 * or may not survive a crash, so keep the files it names and
		 * report the error.
		 */
		if (err && s->renamed) {
			s->latest = info->version;
			s->last_round = info->round;
			return err;
		}
	}
	if (err) {
		/* Leave no orphan: a later publish reuses this number. */
		static const char *const exts[] = { "blob", "params",
						    "manifest" };

		for (i = 0; i < 3; i++) {
			mcai_vname(name, sizeof(name), info->version, exts[i]);
			unlinkat(s->dfd, name, 0);
		}
		return err;
	}
	s->latest = info->version;
	s->last_round = info->round;
	return 0;
}

int mcai_store_complete_round(struct mcai_store *s, uint64_t round)
{
	int err;

	if (round <= s->last_round)
		return mcai_serr(s, -EINVAL,
				 "round %llu is not after the last completed %llu",
				 (unsigned long long)round,
				 (unsigned long long)s->last_round);
	err = mcai_write_state(s, round, s->latest);
	if (!err || s->renamed)
		s->last_round = round;
	return err;
}

/* ---------------------------------------------------------------------- */
/* Read                                                                   */
/* ---------------------------------------------------------------------- */

int mcai_store_info(struct mcai_store *s, uint32_t version,
		    struct mcai_version_info *out)
{
	char name[32];
	uint8_t *text;
	size_t len;
	int err;

	if (!version || version > s->latest)
		return mcai_serr(s, -ENOENT, "no version %u", version);
	mcai_vname(name, sizeof(name), version, "manifest");
	err = mcai_read_file(s, name, MCAI_TEXT_MAX, &text, &len);
	if (err)
		return err;
	err = mcai_parse_manifest(s, name, (char *)text, out);
	free(text);
	if (!err && out->version != version)
		err = mcai_serr(s, -EBADMSG, "%s: says version %u", name,
				out->version);
	return err;
}

void mcai_version_free(struct mcai_version *v)
{
	free(v->params);
	free(v->blob);
	v->params = NULL;
	v->blob = NULL;
}

int mcai_store_read(struct mcai_store *s, uint32_t version,
		    struct mcai_version *out)
{
	uint8_t digest[MCAI_DIGEST_LEN];
	char name[32];
	uint8_t *data;
	size_t len;
	uint32_t i;
	int err;

	memset(out, 0, sizeof(*out));
	err = mcai_store_info(s, version, &out->info);
	if (err)
		return err;

	mcai_vname(name, sizeof(name), version, "blob");
	err = mcai_read_file(s, name, MCAI_STORE_MAX_BLOB, &data, &len);
	if (err)
		return err;
	mcai_sha256(data, len, digest);
	if (len != out->info.blob_len ||
	    memcmp(digest, out->info.blob_sha256, sizeof(digest))) {
		free(data);
		return mcai_serr(s, -EBADMSG, "%s does not match its manifest",
				 name);
	}
	out->blob = data;

	mcai_vname(name, sizeof(name), version, "params");
	err = mcai_read_file(s, name, (size_t)MCAI_STORE_MAX_PARAMS * 4, &data,
			     &len);
	if (err)
		goto fail;
	mcai_sha256(data, len, digest);
	if (len != (size_t)out->info.n_params * 4 ||
	    memcmp(digest, out->info.params_sha256, sizeof(digest))) {
		free(data);
		err = mcai_serr(s, -EBADMSG, "%s does not match its manifest",
				name);
		goto fail;
	}
	out->params = malloc((size_t)out->info.n_params * sizeof(float) + 1);
	if (!out->params) {
		free(data);
		err = mcai_serr(s, -ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < out->info.n_params; i++) {
		const uint8_t *p = data + 4 * (size_t)i;
		uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
				(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

		memcpy(&out->params[i], &bits, 4);
	}
	free(data);
	return 0;
fail:
	mcai_version_free(out);
	return err;
}

int mcai_store_read_latest(struct mcai_store *s, struct mcai_version *out)
{
	if (!s->latest) {
		memset(out, 0, sizeof(*out));
		return mcai_serr(s, -ENOENT, "no version published yet");
	}
	return mcai_store_read(s, s->latest, out);
}

int mcai_store_history(struct mcai_store *s, struct mcai_version_info **out,
		       size_t *n)
{
	struct mcai_version_info *v;
	uint32_t i;
	int err;

	*out = NULL;
	*n = 0;
	v = calloc(s->latest ? s->latest : 1, sizeof(*v));
	if (!v)
		return mcai_serr(s, -ENOMEM, "out of memory");
	/* Versions are dense, 1 .. latest: publish allows no gaps. */
	for (i = 1; i <= s->latest; i++) {
		err = mcai_store_info(s, i, &v[i - 1]);
		if (err) {
			free(v);
			return err;
		}
	}
	*out = v;
	*n = s->latest;
	return 0;
}
