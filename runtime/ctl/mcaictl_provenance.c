// SPDX-License-Identifier: GPL-2.0
/*
 * mcaictl keygen / sign / verify / accept / history: the provenance of
 * model versions (runtime/fed/provenance.h) from the command line.  What the
 * daemon does on publish (sign) and on install (check, record) is here
 * too, so both can be tried and tested without a running federation.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "models/engine/sha256.h"
#include "runtime/lib/atomicfile.h"
#include "runtime/ctl/mcaictl.h"
#include "runtime/fed/modelcheck.h"
#include "runtime/fed/proto.h"
#include "runtime/fed/provenance.h"

#define TRUST_ENV		"MCAI_TRUST"
#define TRUST_DEFAULT		"/etc/mcai/trust.d"
#define HISTORY_ENV		"MCAI_HISTORY_DIR"
#define HISTORY_DEFAULT		"/var/lib/mcaid/history"
#define MANIFEST_SUFFIX		".manifest"
/* As for mcaictl load: far above any model. */
#define MAX_BLOB_FILE		(256U << 20)

enum {
	OPT_MANIFEST = 0x200,
	OPT_TRUST,
	OPT_DIR,
	OPT_HISTORY,
	OPT_KEY,
	OPT_VERSION,
	OPT_PARENT,
	OPT_ROUND,
	OPT_STRATEGY,
	OPT_PARTICIPANTS,
	OPT_NAME,
	OPT_OUT,
	OPT_EPSILON,
	OPT_EPSILON_TOTAL,
	OPT_DELTA,
	OPT_NOISE,
	OPT_CLIP,
	OPT_SAMPLE_RATE,
	OPT_SECAGG,
	OPT_ACCURACY,
	OPT_LOSS,
	OPT_CREATED,
	OPT_STRICT,
	OPT_FORCE,
};

static const char *env_or(const char *env, const char *def)
{
	const char *v = getenv(env);

	return v && *v ? v : def;
}

/* A whole file, at most @max bytes; 0, or 1 after reporting. */
static int slurp_file(const char *path, size_t max, uint8_t **buf,
		      size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t n;

	*buf = NULL;
	*len = 0;
	if (!f)
		return fail("cannot open %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		fclose(f);
		return fail("%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		fclose(f);
		return fail("%s: larger than %zu bytes", path, max);
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		fclose(f);
		return fail("out of memory");
	}
	n = fread(*buf, 1, (size_t)st.st_size + 1, f);
	if (ferror(f) || n != (size_t)st.st_size) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		return fail("reading %s failed (or it changed size)", path);
	}
	fclose(f);
	*len = n;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*out) ? -1 : 0;
}

static void utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---------------------------------------------------------------------- */
/* keygen                                                                 */
/* ---------------------------------------------------------------------- */

int keygen_main(int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_OPTIONS, { 0 } };
	const struct command *c = find_command("keygen");
	uint8_t id[MCAI_PROV_KEYID_LEN];
	char err[MCAI_PROV_ERR_MAX], idhex[2 * MCAI_PROV_KEYID_LEN + 1];
	const char *dir;
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1)
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
	if (argc - optind != 1)
		return usage_error(c, "keygen takes one directory");
	dir = argv[optind];
	if (mcai_prov_keygen(dir, id, err, sizeof(err)))
		return fail("keygen: %s", err);
	hex(id, sizeof(id), idhex);
	if (opt_json) {
		char p[4096];

		mcai_json_object_begin(&json);
		snprintf(p, sizeof(p), "%s/%s", dir, MCAI_PROV_KEY_FILE);
		mcai_json_kv_string(&json, "private_key", p);
		snprintf(p, sizeof(p), "%s/%s", dir, MCAI_PROV_PUB_FILE);
		mcai_json_kv_string(&json, "public_key", p);
		mcai_json_kv_string(&json, "key_id", idhex);
		mcai_json_object_end(&json);
		return 0;
	}
	printf("private key  %s/%s (mode 0600: keep it on the aggregator)\n",
	       dir, MCAI_PROV_KEY_FILE);
	printf("public key   %s/%s (copy it into the nodes' trust store)\n",
	       dir, MCAI_PROV_PUB_FILE);
	printf("key id       %s\n", idhex);
	return 0;
}

const char keygen_details[] =
	"Writes DIR/" MCAI_PROV_KEY_FILE " (PKCS#8 PEM, mode 0600) and DIR/"
	MCAI_PROV_PUB_FILE " (PEM),\n"
	"creating DIR (0700) if needed; never overwrites a key.  The key id\n"
	"is the SHA-256 of the raw 32-byte public key.\n";

/* ---------------------------------------------------------------------- */
/* sign                                                                   */
/* ---------------------------------------------------------------------- */

/* The model name inside a blob's header, checked like a manifest's. */
static int blob_name(const uint8_t *blob, size_t len, char *name)
{
	size_t off = offsetof(struct mcai_blob_header, name);

	if (len < off + MCAI_NAME_LEN)
		return -1;
	memcpy(name, blob + off, MCAI_NAME_LEN);
	if (memchr(name, '\0', MCAI_NAME_LEN) == NULL)
		return -1;
	return mcai_proto_name_ok(name) ? 0 : -1;
}

/*
 * What a node will check of the blob (MCAI_PROV_MODEL), checked before
 * signing: it verifies, its test vectors pass, and the manifest's name
 * and version (from the header unless given) are its header's.  With
 * @force only a name is needed, so that a fleet's refusals can be tested.
 */
static int sign_check_blob(const char *path, const uint8_t *blob, size_t len,
			   struct mcai_prov_manifest *pm, bool have_version,
			   bool force)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model bm;
	u32 failed;
	int r;

	mcai_limits_widest(&lim);
	if (mcai_model_check_blob(&bm, blob, len, &lim, &v)) {
		if (!force)
			return fail("%s: a node would refuse it: %s (at byte %u)",
				    path, v.reason, v.offset);
		if (!pm->name[0] && blob_name(blob, len, pm->name))
			return fail("%s: no valid model name in its header (use --name)",
				    path);
		if (!have_version)
			return fail("%s: no version in a blob that does not verify (use --version)",
				    path);
		return 0;
	}
	if (!pm->name[0])
		snprintf(pm->name, sizeof(pm->name), "%.*s", MCAI_NAME_LEN,
			 bm.name);
	if (!have_version)
		pm->version = bm.version;
	r = 0;
	if (!force && (strcmp(pm->name, bm.name) ||
		       pm->version != bm.version)) {
		r = fail("%s: its header says \"%s\" version %u, the manifest would say \"%s\" version %u: nodes refuse that (--force signs it anyway)",
			 path, bm.name, bm.version, pm->name, pm->version);
		goto out;
	}
	switch (mcai_model_check_vectors(&bm, &failed)) {
	case -ENOMEM:
		r = fail("out of memory");
		break;
	case 0:
		break;
	default:
		if (!force)
			r = fail("%s: a node would refuse it: test vector %u of %u fails",
				 path, failed, bm.tv_count);
	}
out:
	mcai_model_check_free(&bm);
	return r;
}

static int write_file_atomic(const char *path, const uint8_t *p, size_t n)
{
	char err[512];

	/* 0666 less the umask, as a plain fopen() would create it. */
	if (mcai_atomic_write(path, p, n, 0666, err, sizeof(err)))
		return fail("writing %s: %s", path, err);
	return 0;
}

int sign_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "key", required_argument, NULL, OPT_KEY },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "parent", required_argument, NULL, OPT_PARENT },
		{ "round", required_argument, NULL, OPT_ROUND },
		{ "strategy", required_argument, NULL, OPT_STRATEGY },
		{ "participants", required_argument, NULL, OPT_PARTICIPANTS },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "epsilon", required_argument, NULL, OPT_EPSILON },
		{ "epsilon-total", required_argument, NULL, OPT_EPSILON_TOTAL },
		{ "delta", required_argument, NULL, OPT_DELTA },
		{ "noise", required_argument, NULL, OPT_NOISE },
		{ "clip", required_argument, NULL, OPT_CLIP },
		{ "sample-rate", required_argument, NULL, OPT_SAMPLE_RATE },
		{ "secagg", no_argument, NULL, OPT_SECAGG },
		{ "accuracy", required_argument, NULL, OPT_ACCURACY },
		{ "loss", required_argument, NULL, OPT_LOSS },
		{ "created", required_argument, NULL, OPT_CREATED },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ 0 }
	};
	const struct command *c = find_command("sign");
	uint8_t sm[MCAI_PROV_MANIFEST_MAX], *blob = NULL;
	const char *key_path = NULL, *out = NULL, *path, *why;
	char err[MCAI_PROV_ERR_MAX], outbuf[4200];
	char keyhex[MCAI_PROV_KEYID_HEX + 1];
	struct mcai_prov_manifest m;
	struct mcai_prov_key *k = NULL;
	bool have_version = false, have_parent = false, have_eps_total = false;
	bool force = false;
	size_t blen, slen;
	double *dp = NULL;
	uint64_t n64;
	int ch, ret = EXIT_FAILURE;
	u32 u;

	mcai_prov_manifest_init(&m);
	m.created = (int64_t)time(NULL);
	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		switch (ch) {
		case OPT_KEY:
			key_path = optarg;
			continue;
		case OPT_OUT:
			out = optarg;
			continue;
		case OPT_NAME:
			if (strlen(optarg) >= sizeof(m.name) ||
			    !mcai_proto_name_ok(optarg))
				return usage_error(c, "bad model name \"%s\"",
						   optarg);
			strcpy(m.name, optarg);
			continue;
		case OPT_STRATEGY:
			if (strlen(optarg) >= sizeof(m.strategy))
				return usage_error(c, "strategy name too long");
			strcpy(m.strategy, optarg);
			continue;
		case OPT_SECAGG:
			m.flags |= MCAI_PROV_F_SECAGG;
			continue;
		case OPT_FORCE:
			force = true;
			continue;
		case OPT_VERSION:
		case OPT_PARENT:
		case OPT_PARTICIPANTS:
			if (parse_u32(optarg, &u))
				return usage_error(c, "%s: not a 32-bit count",
						   optarg);
			if (ch == OPT_VERSION) {
				m.version = u;
				have_version = true;
			} else if (ch == OPT_PARENT) {
				m.parent = u;
				have_parent = true;
			} else {
				m.participants = u;
			}
			continue;
		case OPT_ROUND:
		case OPT_CREATED:
			if (parse_u64(optarg, &n64) ||
			    (ch == OPT_CREATED && n64 > INT64_MAX))
				return usage_error(c, "%s: not a count", optarg);
			if (ch == OPT_ROUND)
				m.round = n64;
			else
				m.created = (int64_t)n64;
			continue;
		case OPT_EPSILON:
			dp = &m.privacy.epsilon;
			break;
		case OPT_EPSILON_TOTAL:
			dp = &m.privacy.epsilon_total;
			have_eps_total = true;
			break;
		case OPT_DELTA:
			dp = &m.privacy.delta;
			break;
		case OPT_NOISE:
			dp = &m.privacy.noise_multiplier;
			break;
		case OPT_CLIP:
			dp = &m.privacy.clip_norm;
			break;
		case OPT_SAMPLE_RATE:
			dp = &m.privacy.sample_rate;
			break;
		case OPT_ACCURACY:
		case OPT_LOSS:
			if (parse_double(optarg, ch == OPT_ACCURACY ?
					 &m.accuracy : &m.loss))
				return usage_error(c, "%s: not a number",
						   optarg);
			continue;
		default:
			continue;
		}
		/* A privacy parameter: any of them means DP was applied. */
		if (parse_double(optarg, dp))
			return usage_error(c, "%s: not a number", optarg);
		m.flags |= MCAI_PROV_F_DP;
	}
	if (argc - optind != 1)
		return usage_error(c, "sign takes one model blob");
	if (!key_path)
		return usage_error(c, "--key is required");
	if (!have_eps_total)
		m.privacy.epsilon_total = m.privacy.epsilon;
	path = argv[optind];

	if (slurp_file(path, MAX_BLOB_FILE, &blob, &blen))
		return EXIT_FAILURE;
	if (sign_check_blob(path, blob, blen, &m, have_version, force))
		goto out;
	if (!have_parent)
		m.parent = m.version ? m.version - 1 : 0;
	m.blob_len = (uint32_t)blen;
	mcai_sha256(blob, blen, m.blob_sha256);
	if (mcai_prov_manifest_check(&m, &why)) {
		fail("manifest: %s", why);
		goto out;
	}
	if (mcai_prov_key_load(&k, key_path, err, sizeof(err))) {
		fail("%s", err);
		goto out;
	}
	if (mcai_prov_sign(k, &m, sm, sizeof(sm), &slen, err, sizeof(err))) {
		fail("sign: %s", err);
		goto out;
	}
	if (!out) {
		snprintf(outbuf, sizeof(outbuf), "%s" MANIFEST_SUFFIX, path);
		out = outbuf;
	}
	if (write_file_atomic(out, sm, slen))
		goto out;
	mcai_prov_keyid_hex(m.signer, keyhex);
	ret = 0;
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "manifest", out);
		mcai_json_kv_string(&json, "name", m.name);
		mcai_json_kv_uint(&json, "version", m.version);
		mcai_json_kv_uint(&json, "parent", m.parent);
		mcai_json_kv_hex(&json, "signer", m.signer, sizeof(m.signer));
		mcai_json_kv_uint(&json, "bytes", slen);
		mcai_json_object_end(&json);
	} else {
		printf("signed %s version %u (parent %u) with key %s: %s\n",
		       m.name, m.version, m.parent, keyhex, out);
	}
out:
	mcai_prov_key_free(k);
	free(blob);
	return ret;
}

const char sign_details[] =
	"Writes the signed manifest of FILE (default FILE" MANIFEST_SUFFIX
	"), the way the aggregator\n"
	"does on publish.  The blob must be one a node would take: it verifies,\n"
	"its test vectors pass, and the manifest's name and version are the\n"
	"ones in its header (the defaults).\n"
	"\n"
	"  --key FILE           the private key (mcaictl keygen)\n"
	"  --name NAME, --version N   as the header says; --parent P defaults\n"
	"                       to N - 1\n"
	"  --force              sign even a blob, name or version a node will\n"
	"                       refuse (to test a fleet's refusals)\n"
	"  --round R, --strategy S, --participants N\n"
	"  --epsilon E, --epsilon-total E, --delta D, --noise SIGMA,\n"
	"  --clip C, --sample-rate Q   differential privacy (any sets the flag)\n"
	"  --secagg             secure aggregation was used\n"
	"  --accuracy A, --loss L, --created UNIX_SECONDS\n"
	"  --out FILE           where the manifest goes\n";

/* ---------------------------------------------------------------------- */
/* verify, accept                                                         */
/* ---------------------------------------------------------------------- */

static void print_manifest_text(const struct mcai_prov_manifest *m,
				const char *mpath, size_t mlen)
{
	char digest[2 * MCAI_DIGEST_LEN + 1], when[40];
	char keyhex[MCAI_PROV_KEYID_HEX + 1];
	const struct mcai_prov_privacy *p = &m->privacy;

	mcai_prov_keyid_hex(m->signer, keyhex);
	printf("manifest     %s (%zu bytes, format %d)\n", mpath, mlen,
	       MCAI_PROV_FORMAT);
	printf("model        %s version %u, parent %u, round %" PRIu64 "\n",
	       m->name, m->version, m->parent, m->round);
	printf("aggregation  %s, %u participants%s\n",
	       m->strategy[0] ? m->strategy : "-", m->participants,
	       m->flags & MCAI_PROV_F_SECAGG ? ", secure aggregation" : "");
	hex(m->blob_sha256, MCAI_DIGEST_LEN, digest);
	printf("blob         %u bytes, sha256 %s\n", m->blob_len, digest);
	if (m->n_params) {
		hex(m->params_sha256, MCAI_DIGEST_LEN, digest);
		printf("params       %u floats, sha256 %s\n", m->n_params,
		       digest);
	}
	utc(m->created, when, sizeof(when));
	printf("created      %s\n", when);
	if (m->accuracy >= 0 || m->loss >= 0)
		printf("evaluation   accuracy %.4f, loss %.4f\n", m->accuracy,
		       m->loss);
	if (m->flags & MCAI_PROV_F_DP)
		printf("privacy      epsilon %g (total %g), delta %g, noise %g, "
		       "clip %g, sample rate %g\n", p->epsilon,
		       p->epsilon_total, p->delta, p->noise_multiplier,
		       p->clip_norm, p->sample_rate);
	else
		printf("privacy      no differential privacy\n");
	if (m->flags & MCAI_PROV_F_STATS)
		printf("training     %" PRIu64 " samples, %u features, %u classes (drift baseline)\n",
		       m->stats.samples, m->stats.n_features,
		       m->stats.n_classes);
	printf("signer       %s\n", keyhex);
}

static void json_manifest(const struct mcai_prov_manifest *m)
{
	const struct mcai_prov_privacy *p = &m->privacy;
	char when[40];

	mcai_json_kv_string(&json, "name", m->name);
	mcai_json_kv_uint(&json, "version", m->version);
	mcai_json_kv_uint(&json, "parent", m->parent);
	mcai_json_kv_uint(&json, "round", m->round);
	mcai_json_kv_string(&json, "strategy", m->strategy);
	mcai_json_kv_uint(&json, "participants", m->participants);
	mcai_json_kv_bool(&json, "secure_aggregation",
			  m->flags & MCAI_PROV_F_SECAGG);
	mcai_json_kv_uint(&json, "blob_len", m->blob_len);
	mcai_json_kv_hex(&json, "blob_sha256", m->blob_sha256,
			 MCAI_DIGEST_LEN);
	mcai_json_kv_uint(&json, "n_params", m->n_params);
	if (m->n_params)
		mcai_json_kv_hex(&json, "params_sha256", m->params_sha256,
				 MCAI_DIGEST_LEN);
	mcai_json_kv_int(&json, "created", m->created);
	utc(m->created, when, sizeof(when));
	mcai_json_kv_string(&json, "created_utc", when);
	mcai_json_key(&json, "accuracy");
	if (m->accuracy >= 0)
		mcai_json_double(&json, m->accuracy);
	else
		mcai_json_null(&json);
	mcai_json_key(&json, "loss");
	if (m->loss >= 0)
		mcai_json_double(&json, m->loss);
	else
		mcai_json_null(&json);
	mcai_json_key(&json, "privacy");
	if (m->flags & MCAI_PROV_F_DP) {
		mcai_json_object_begin(&json);
		mcai_json_kv_double(&json, "epsilon", p->epsilon);
		mcai_json_kv_double(&json, "epsilon_total", p->epsilon_total);
		mcai_json_kv_double(&json, "delta", p->delta);
		mcai_json_kv_double(&json, "noise_multiplier",
				    p->noise_multiplier);
		mcai_json_kv_double(&json, "clip_norm", p->clip_norm);
		mcai_json_kv_double(&json, "sample_rate", p->sample_rate);
		mcai_json_object_end(&json);
	} else {
		mcai_json_null(&json);
	}
	/*
	 * The training statistics' size and class histogram; the
	 * per-feature figures are the drift check's, not a reader's.
	 */
	mcai_json_key(&json, "training_stats");
	if (m->flags & MCAI_PROV_F_STATS) {
		mcai_json_object_begin(&json);
		mcai_json_kv_uint(&json, "samples", m->stats.samples);
		mcai_json_kv_uint(&json, "features", m->stats.n_features);
		mcai_json_key(&json, "classes");
		mcai_json_array_begin_inline(&json);
		for (uint32_t i = 0; i < m->stats.n_classes; i++)
			mcai_json_uint(&json, m->stats.classes[i]);
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
	} else {
		mcai_json_null(&json);
	}
	mcai_json_kv_hex(&json, "signer", m->signer, MCAI_PROV_KEYID_LEN);
}

struct check_opts {
	const char *manifest;
	const char *trust;
	const char *history;		/* NULL: no chain check (verify) */
	const char *name;		/* the node's model; NULL: manifest's */
	unsigned int flags;
};

/*
 * verify and accept: decode, signature, digest, and with a history the
 * chain; accept then records it.  Exit 0 only when everything held.
 */
static int check_and_report(const char *path, const struct check_opts *o,
			    bool record)
{
	uint8_t *blob = NULL, *sm = NULL;
	/* Room for a prefix before a library message. */
	char mbuf[4200], err[MCAI_PROV_ERR_MAX + 64];
	char cerr[MCAI_PROV_ERR_MAX + 64];
	char herr[MCAI_PROV_ERR_MAX] = "";
	struct mcai_prov_trust *t = NULL;
	struct mcai_prov_current cur;
	struct mcai_prov_manifest m;
	uint8_t digest[MCAI_DIGEST_LEN];
	size_t blen, slen;
	const char *why, *mpath = o->manifest, *sig_state;
	int sig, verdict, ret = EXIT_FAILURE;
	bool decoded, digest_ok;

	if (!mpath) {
		snprintf(mbuf, sizeof(mbuf), "%s" MANIFEST_SUFFIX, path);
		mpath = mbuf;
	}
	if (slurp_file(path, MAX_BLOB_FILE, &blob, &blen))
		return EXIT_FAILURE;
	if (access(mpath, F_OK) && errno == ENOENT) {
		free(blob);
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "file", path);
			mcai_json_kv_bool(&json, "verified", false);
			mcai_json_kv_string(&json, "verdict",
				mcai_prov_verdict_name(MCAI_PROV_UNSIGNED));
			mcai_json_object_end(&json);
		}
		return fail("%s: unsigned (no %s)", path, mpath);
	}
	/* One byte more than allowed, so an oversized file reads as such. */
	if (slurp_file(mpath, MCAI_PROV_MANIFEST_MAX + 1, &sm, &slen)) {
		free(blob);
		return EXIT_FAILURE;
	}
	decoded = !mcai_prov_decode(sm, slen, &m, &why);
	if (!decoded) {
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "file", path);
			mcai_json_kv_string(&json, "manifest", mpath);
			mcai_json_kv_bool(&json, "verified", false);
			mcai_json_kv_string(&json, "verdict",
				mcai_prov_verdict_name(MCAI_PROV_MALFORMED));
			mcai_json_kv_string(&json, "reason", why);
			mcai_json_object_end(&json);
		}
		fail("%s: malformed manifest: %s", mpath, why);
		goto out;
	}
	/* Without a trust store nothing verifies, but the rest is shown. */
	if (mcai_prov_trust_load(&t, o->trust, herr, sizeof(herr)))
		t = NULL;
	sig = mcai_prov_verify(t, sm, slen, &m, err, sizeof(err));
	if (!t && sig == MCAI_PROV_UNKNOWN_SIGNER)
		snprintf(err, sizeof(err), "no trust store: %s", herr);
	sig_state = sig == MCAI_PROV_OK ? "valid" :
		    sig == MCAI_PROV_UNKNOWN_SIGNER ? "unknown signer" :
		    "INVALID";
	mcai_sha256(blob, blen, digest);
	digest_ok = blen == m.blob_len &&
		    !memcmp(digest, m.blob_sha256, MCAI_DIGEST_LEN);

	/* The whole rule set, as the node applies it. */
	memset(&cur, 0, sizeof(cur));
	snprintf(cur.name, sizeof(cur.name), "%s", o->name ? o->name : m.name);
	herr[0] = '\0';
	if (o->history &&
	    mcai_prov_history_current(o->history, cur.name, &cur, herr,
				      sizeof(herr))) {
		verdict = MCAI_PROV_ERROR;
		snprintf(cerr, sizeof(cerr), "history: %s", herr);
	} else {
		verdict = mcai_prov_check(t, &cur, sm, slen, blob, blen,
					  o->flags | MCAI_PROV_MODEL, &m, cerr,
					  sizeof(cerr));
	}
	if (verdict == MCAI_PROV_OK && record &&
	    mcai_prov_history_append(o->history, sm, slen, -1,
				     (o->flags & MCAI_PROV_FORCE) ?
				     MCAI_PROV_REC_FORCED : 0, herr,
				     sizeof(herr))) {
		verdict = MCAI_PROV_ERROR;
		snprintf(cerr, sizeof(cerr), "recording: %s", herr);
	}

	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "file", path);
		mcai_json_kv_string(&json, "manifest", mpath);
		json_manifest(&m);
		mcai_json_kv_string(&json, "signature", sig_state);
		mcai_json_kv_bool(&json, "digest_matches", digest_ok);
		if (o->history)
			mcai_json_kv_uint(&json, "installed_version",
					  cur.version);
		mcai_json_kv_bool(&json, "verified", verdict == MCAI_PROV_OK);
		mcai_json_kv_string(&json, "verdict",
				    mcai_prov_verdict_name(verdict));
		if (verdict != MCAI_PROV_OK)
			mcai_json_kv_string(&json, "reason", cerr);
		if (record)
			mcai_json_kv_bool(&json, "recorded",
					  verdict == MCAI_PROV_OK);
		mcai_json_object_end(&json);
	} else {
		print_manifest_text(&m, mpath, slen);
		printf("signature    %s%s%s\n", sig_state,
		       sig == MCAI_PROV_OK ? "" : ": ",
		       sig == MCAI_PROV_OK ? "" : err);
		printf("blob digest  %s\n", digest_ok ? "matches" :
		       "DOES NOT MATCH the signed one");
		if (o->history)
			printf("installed    version %u (history %s)\n",
			       cur.version, o->history);
		printf("verdict      %s%s%s\n",
		       verdict == MCAI_PROV_OK ? (record ? "accepted and recorded" :
						  "ok") :
		       mcai_prov_verdict_name(verdict),
		       verdict == MCAI_PROV_OK ? "" : ": ",
		       verdict == MCAI_PROV_OK ? "" : cerr);
	}
	if (verdict == MCAI_PROV_OK)
		ret = 0;
	else
		fprintf(stderr, "mcaictl: %s: %s\n", path, cerr);
out:
	mcai_prov_trust_free(t);
	free(sm);
	free(blob);
	return ret;
}

static int check_main(int argc, char **argv, const char *name, bool record)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "manifest", required_argument, NULL, OPT_MANIFEST },
		{ "trust", required_argument, NULL, OPT_TRUST },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "name", required_argument, NULL, OPT_NAME },
		{ 0 }
	};
	const struct command *c = find_command(name);
	struct check_opts o = {
		.trust = env_or(TRUST_ENV, TRUST_DEFAULT),
		.history = record ? env_or(HISTORY_ENV, HISTORY_DEFAULT) : NULL,
	};
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		switch (ch) {
		case OPT_MANIFEST:
			o.manifest = optarg;
			break;
		case OPT_TRUST:
			o.trust = optarg;
			break;
		case OPT_HISTORY:
		case OPT_DIR:
			o.history = optarg;
			break;
		case OPT_STRICT:
			o.flags |= MCAI_PROV_STRICT;
			break;
		case OPT_NAME:
			if (!mcai_proto_name_ok(optarg))
				return usage_error(c, "bad model name \"%s\"",
						   optarg);
			o.name = optarg;
			break;
		case OPT_FORCE:
			if (!record)
				return usage_error(c, "--force is for accept");
			o.flags |= MCAI_PROV_FORCE;
			break;
		}
	}
	if (argc - optind != 1)
		return usage_error(c, "%s takes one model blob", name);
	return check_and_report(argv[optind], &o, record);
}

int verify_main(int argc, char **argv)
{
	return check_main(argc, argv, "verify", false);
}

int accept_main(int argc, char **argv)
{
	return check_main(argc, argv, "accept", true);
}

const char verify_details[] =
	"Shows the signed manifest of FILE (FILE" MANIFEST_SUFFIX
	" unless --manifest) and checks\n"
	"it: signature by a trusted key, blob digest and length; with --history\n"
	"also the version chain against what the history says is installed.\n"
	"Exits 1 when the model is unsigned, malformed, signed by an unknown key,\n"
	"wrongly signed, not the signed blob, or refused by the chain rule.\n"
	"\n"
	"  --manifest M     the signed manifest\n"
	"  --trust PATH     trusted public keys: a directory of *.pub / *.pem or\n"
	"                   one PEM file (default $" TRUST_ENV ", else "
	TRUST_DEFAULT ")\n"
	"  --history DIR    check the chain against DIR/NAME.history\n"
	"  --name NAME      the model this must be (a node's configured one);\n"
	"                   default: whatever the manifest names\n"
	"  --strict         refuse skipped versions (parent != installed)\n";

const char accept_details[] =
	"What a node does before installing a version: verify (as mcaictl\n"
	"verify --history DIR) and, when everything holds, append the manifest\n"
	"to DIR/NAME.history.  Does not load the model into the kernel.\n"
	"\n"
	"  --manifest M, --trust PATH, --name NAME, --strict   as for verify\n"
	"  --dir DIR        the history directory (default $" HISTORY_ENV ",\n"
	"                   else " HISTORY_DEFAULT ")\n"
	"  --force          allow an older or forked version (recorded as such)\n";

/* ---------------------------------------------------------------------- */
/* history                                                                */
/* ---------------------------------------------------------------------- */

int history_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "trust", required_argument, NULL, OPT_TRUST },
		{ 0 }
	};
	const struct command *c = find_command("history");
	const char *dir = env_or(HISTORY_ENV, HISTORY_DEFAULT);
	const char *trust_path = NULL;
	char err[MCAI_PROV_ERR_MAX], when[40], eps[48];
	char keyhex[MCAI_PROV_KEYID_HEX + 1];
	struct mcai_prov_trust *t = NULL;
	struct mcai_prov_record *r;
	size_t n, i;
	bool torn;
	int ch, e;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == OPT_DIR)
			dir = optarg;
		else if (ch == OPT_TRUST)
			trust_path = optarg;
	}
	if (argc - optind != 1)
		return usage_error(c, "history takes one model name");
	if (!mcai_proto_name_ok(argv[optind]))
		return usage_error(c, "bad model name \"%s\"", argv[optind]);
	if (trust_path && mcai_prov_trust_load(&t, trust_path, err,
					       sizeof(err)))
		return fail("%s", err);
	e = mcai_prov_history_read(dir, argv[optind], &r, &n, &torn, err,
				   sizeof(err));
	if (e) {
		mcai_prov_trust_free(t);
		if (e == -ENOENT)
			return fail("no history of %s in %s", argv[optind],
				    dir);
		return fail("history of %s: %s", argv[optind], err);
	}
	if (torn)
		warn("%s/%s.history: torn tail ignored (cut off by a crash; "
		     "the next accept removes it)", dir, argv[optind]);

	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "name", argv[optind]);
		mcai_json_kv_string(&json, "dir", dir);
		mcai_json_kv_bool(&json, "torn_tail", torn);
		mcai_json_key(&json, "versions");
		mcai_json_array_begin(&json);
	} else {
		printf("%-8s %-8s %-8s %-12s %-6s %-16s %-16s %-20s%s\n",
		       "VERSION", "PARENT", "ROUND", "STRATEGY", "NODES",
		       "EPSILON", "SIGNER", "ACCEPTED", t ? " SIGNATURE" : "");
	}
	for (i = 0; i < n; i++) {
		const struct mcai_prov_manifest *m = &r[i].m;
		struct mcai_prov_manifest dummy;
		const char *sig = NULL;
		bool gap = i && m->parent != r[i - 1].m.version;

		if (t)
			sig = mcai_prov_verdict_name(
				mcai_prov_verify(t, r[i].raw, r[i].raw_len,
						 &dummy, err, sizeof(err)));
		utc(r[i].accepted, when, sizeof(when));
		mcai_prov_keyid_hex(m->signer, keyhex);
		if (opt_json) {
			mcai_json_object_begin(&json);
			json_manifest(m);
			mcai_json_kv_int(&json, "accepted", r[i].accepted);
			mcai_json_kv_string(&json, "accepted_utc", when);
			mcai_json_kv_bool(&json, "forced",
					  r[i].flags & MCAI_PROV_REC_FORCED);
			mcai_json_kv_bool(&json, "skipped_versions", gap);
			if (sig)
				mcai_json_kv_string(&json, "signature", sig);
			mcai_json_object_end(&json);
			continue;
		}
		if (m->flags & MCAI_PROV_F_DP)
			snprintf(eps, sizeof(eps), "%.3g/%.3g",
				 m->privacy.epsilon, m->privacy.epsilon_total);
		else
			snprintf(eps, sizeof(eps), "-");
		printf("%-8u %-8u %-8" PRIu64 " %-12s %-6u %-16s %-16s %-20s%s%s%s%s\n",
		       m->version, m->parent, m->round,
		       m->strategy[0] ? m->strategy : "-", m->participants,
		       eps, keyhex, when, sig ? " " : "", sig ? sig : "",
		       r[i].flags & MCAI_PROV_REC_FORCED ? " (forced)" : "",
		       gap ? " (versions skipped)" : "");
	}
	if (opt_json) {
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
	}
	free(r);
	mcai_prov_trust_free(t);
	return 0;
}

const char history_details[] =
	"Prints every version a node accepted for model NAME, oldest first:\n"
	"version, parent, round, strategy, participating nodes, epsilon (this\n"
	"round / cumulative, \"-\" without differential privacy), signer key id\n"
	"and when it was accepted (UTC).  Forced installs and skipped versions\n"
	"are marked.\n"
	"\n"
	"  --dir DIR     the history directory (default $" HISTORY_ENV ", else\n"
	"                " HISTORY_DEFAULT ")\n"
	"  --trust PATH  verify each recorded signature again\n";
