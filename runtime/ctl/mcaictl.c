// SPDX-License-Identifier: GPL-2.0
/*
 * mcaictl: load, list, run and unload mcai models through /dev/mcai, and
 * inspect or run model blobs in user space without the module.
 *
 * Structure after wireguard-tools' wg(8): one function per subcommand, a
 * table of them, a usage text per command.  Exit status: 0 success, 1 the
 * operation failed, 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <linux/udmabuf.h>

#include "runtime/lib/device.h"
#include "runtime/lib/json.h"
#include "runtime/lib/atomicfile.h"
#include "runtime/ctl/mcaictl.h"
#include "runtime/fed/modelcheck.h"
#include "models/engine/engine.h"
#include "models/engine/graph.h"
#include "models/train/quant.h"
#include "models/engine/sha256.h"
#include "models/engine/simd.h"
#include "models/engine/verify.h"

#ifndef MCAICTL_VERSION
#define MCAICTL_VERSION "0.1"
#endif

/* Reading caps: far above any model or data set, far below trouble. */
#define MAX_BLOB_FILE	(256U << 20)
#define MAX_INPUT_FILE	(1ULL << 31)

#define IDX_IMAGES_MAGIC	0x00000803U
#define IDX_LABELS_MAGIC	0x00000801U

/* Global options, and the JSON writer for stdout (mcaictl.h). */
const char *opt_device;
bool opt_json;
struct mcai_json json;

/* ---------------------------------------------------------------------- */
/* Messages                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Report a failed operation on stderr; in JSON mode also as
 * {"error": ...} on stdout, unless a document has been started there.
 * Returns 1, the exit status of a failed operation.
 */
__attribute__((format(printf, 1, 2)))
int fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mcaictl: %s\n", msg);
	if (opt_json && !json.started) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "error", msg);
		mcai_json_object_end(&json);
		mcai_json_finish(&json);
	}
	return EXIT_FAILURE;
}

__attribute__((format(printf, 1, 2)))
void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("mcaictl: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void print_synopsis(FILE *f, const struct command *c)
{
	fprintf(f, "Usage: mcaictl [-d DEVICE] [--json] %s%s%s\n", c->name,
		c->args[0] ? " " : "", c->args);
}

static void command_help(FILE *f, const struct command *c)
{
	print_synopsis(f, c);
	fprintf(f, "\n%s.\n", c->summary);
	if (c->details[0])
		fprintf(f, "\n%s", c->details);
}

/* A usage error in command @c: the message, then its synopsis.  Returns 2. */
__attribute__((format(printf, 2, 3)))
int usage_error(const struct command *c, const char *fmt, ...)
{
	va_list ap;

	fputs("mcaictl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c) {
		print_synopsis(stderr, c);
		fprintf(stderr, "Try 'mcaictl help %s' for more.\n", c->name);
	} else {
		fputs("Try 'mcaictl --help' for more.\n", stderr);
	}
	return EXIT_USAGE;
}

/* Finish the JSON document on stdout (if any) and flush stdout. */
static int finish_output(int ret)
{
	if (opt_json && json.started && json.depth == 0 &&
	    mcai_json_finish(&json) && !ret)
		ret = fail("writing JSON output failed");
	if (fflush(stdout) || ferror(stdout)) {
		if (!ret)
			fprintf(stderr, "mcaictl: writing output: %s\n",
				strerror(errno));
		return EXIT_FAILURE;
	}
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Options                                                                */
/* ---------------------------------------------------------------------- */

enum {
	OPT_FORCE = 0x100,
	OPT_NO_VERIFY,
	OPT_LABELS,
	OPT_ENGINE,
	OPT_FORMAT,
};

/*
 * getopt_long over a subcommand's arguments (argv[0] is the command),
 * options and operands in any order.  Handles --help and --json itself;
 * returns the next other option, -1 at the end, or a negative exit status
 * minus 1000 when the command must stop (usage error or --help).
 */
int next_option(const struct command *c, int argc, char **argv,
		       const char *shortopts, const struct option *longopts)
{
	for (;;) {
		int ch = getopt_long(argc, argv, shortopts, longopts, NULL);

		switch (ch) {
		case 'h':
			command_help(stdout, c);
			return OPT_DONE_BASE - EXIT_SUCCESS;
		case 'j':
			opt_json = true;
			continue;
		case ':':
			return OPT_DONE_BASE -
			       usage_error(c, "option %s needs an argument",
					   argv[optind - 1]);
		case '?':
			if (optopt)
				return OPT_DONE_BASE -
				       usage_error(c, "unknown option -%c",
						   optopt);
			return OPT_DONE_BASE -
			       usage_error(c, "unknown option %s",
					   argv[optind - 1]);
		default:
			return ch;
		}
	}
}

void reset_getopt(void)
{
	optind = 0;		/* glibc: full re-initialisation */
	opterr = 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull() would take a sign or leading blanks: digits only. */
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int parse_u32(const char *s, u32 *out)
{
	uint64_t v;

	if (parse_u64(s, &v) || v > UINT32_MAX)
		return -1;
	*out = (u32)v;
	return 0;
}

int open_device(struct mcai_dev *d)
{
	if (mcai_dev_open(d, opt_device))
		return fail("%s", mcai_dev_error(d));
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Files                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Read all of @path ("-": stdin) into a malloc'd buffer (plus one spare
 * byte), refusing more than @max bytes.  0, or 1 after reporting.
 */
int read_all(const char *path, unsigned long long max, u8 **buf,
	     size_t *len)
{
	bool is_stdin = !strcmp(path, "-");
	const char *shown = is_stdin ? "standard input" : path;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	size_t cap = 0, n = 0, got;
	u8 *b = NULL, *nb;

	*buf = NULL;
	*len = 0;
	if (!f)
		return fail("cannot open %s: %s", path, strerror(errno));
	for (;;) {
		if (cap - n < 2) {
			size_t ncap = cap ? cap * 2 : 65536;

			if (cap > max) {
				free(b);
				if (!is_stdin)
					fclose(f);
				return fail("%s: larger than %llu bytes", shown,
					    max);
			}
			nb = realloc(b, ncap);
			if (!nb) {
				free(b);
				if (!is_stdin)
					fclose(f);
				return fail("%s: out of memory", shown);
			}
			b = nb;
			cap = ncap;
		}
		got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int err = errno;

		free(b);
		if (!is_stdin)
			fclose(f);
		return fail("reading %s: %s", shown, strerror(err));
	}
	if (!is_stdin)
		fclose(f);
	if (n > max) {
		free(b);
		return fail("%s: larger than %llu bytes", shown, max);
	}
	*buf = b;
	*len = n;
	return 0;
}

/*
 * If @buf holds gzip data, replace it with its inflated contents
 * (concatenated members included).  0, or 1 after reporting.
 */
static int maybe_gunzip(const char *shown, u8 **buf, size_t *len)
{
	z_stream zs;
	size_t cap, n = 0;
	u8 *out, *nb;
	int zr;

	if (*len < 3 || (*buf)[0] != 0x1f || (*buf)[1] != 0x8b ||
	    (*buf)[2] != 8)
		return 0;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return fail("%s: zlib initialisation failed", shown);
	cap = *len < MAX_INPUT_FILE / 8 ? *len * 4 + 65536 : MAX_INPUT_FILE;
	out = malloc(cap);
	if (!out) {
		inflateEnd(&zs);
		return fail("%s: out of memory", shown);
	}
	zs.next_in = *buf;
	zs.avail_in = 0;
	{
		size_t in_left = *len;

		for (;;) {
			if (!zs.avail_in && in_left) {
				zs.avail_in = in_left > UINT_MAX ? UINT_MAX :
								  (uInt)in_left;
				in_left -= zs.avail_in;
			}
			if (cap - n == 0) {
				if (cap >= MAX_INPUT_FILE) {
					free(out);
					inflateEnd(&zs);
					return fail("%s: inflates to more than %llu bytes",
						    shown, MAX_INPUT_FILE);
				}
				nb = realloc(out, cap * 2);
				if (!nb) {
					free(out);
					inflateEnd(&zs);
					return fail("%s: out of memory", shown);
				}
				out = nb;
				cap *= 2;
			}
			zs.next_out = out + n;
			zs.avail_out = cap - n > UINT_MAX ? UINT_MAX :
							     (uInt)(cap - n);
			zr = inflate(&zs, Z_NO_FLUSH);
			n = (size_t)(zs.next_out - out);
			if (zr == Z_STREAM_END) {
				if (!zs.avail_in && !in_left)
					break;
				/* Another gzip member follows. */
				if (inflateReset(&zs) != Z_OK)
					zr = Z_DATA_ERROR;
				else
					continue;
			}
			if (zr == Z_BUF_ERROR && !zs.avail_in && !in_left) {
				free(out);
				inflateEnd(&zs);
				return fail("%s: truncated gzip data", shown);
			}
			if (zr != Z_OK && zr != Z_BUF_ERROR) {
				free(out);
				inflateEnd(&zs);
				return fail("%s: corrupt gzip data (%s)", shown,
					    zs.msg ? zs.msg : "zlib error");
			}
		}
	}
	inflateEnd(&zs);
	free(*buf);
	*buf = out;
	*len = n;
	return 0;
}

static u32 be32(const u8 *b)
{
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

/* A verified blob in memory, for the user-space engine and inspect. */
struct user_model {
	u8 *blob;
	size_t size;
	struct mcai_model m;
	struct mcai_verdict verdict;
	bool valid;
};

/* Read and verify @path; 0 (check um->valid), or 1 after reporting. */
static int user_model_load(struct user_model *um, const char *path,
			   const struct mcai_limits *lim)
{
	memset(um, 0, sizeof(*um));
	if (read_all(path, MAX_BLOB_FILE, &um->blob, &um->size))
		return 1;
	um->valid = !mcai_model_check_blob(&um->m, um->blob, um->size, lim,
					   &um->verdict);
	return 0;
}

static void user_model_free(struct user_model *um)
{
	mcai_model_check_free(&um->m);
	free(um->blob);
	memset(um, 0, sizeof(*um));
}

static float float_bits(u32 bits)
{
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static const char *head_name(unsigned int head)
{
	switch (head) {
	case MCAI_HEAD_ARGMAX:
		return "argmax";
	case MCAI_HEAD_THRESHOLD:
		return "threshold";
	}
	return "unknown";
}

static const char *layer_type_name(unsigned int type)
{
	switch (type) {
	case MCAI_LAYER_FC:
		return "fc";
	case MCAI_LAYER_LUT:
		return "lut";
	}
	return "unknown";
}

static const char *activation_name(unsigned int act)
{
	static const char *const names[] = {
		"none", "relu", "relu6", "sigmoid", "tanh",
	};

	return act < sizeof(names) / sizeof(names[0]) ? names[act] : "unknown";
}

static void print_hex(FILE *f, const u8 *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

/* ---------------------------------------------------------------------- */
/* info                                                                   */
/* ---------------------------------------------------------------------- */

/* The module's SIMD path; "unknown" from a module older than the field. */
static const char *info_simd(struct mcai_info *info)
{
	if (info->size < offsetof(struct mcai_info, simd) + sizeof(info->simd) ||
	    !info->simd[0])
		return "unknown";
	info->simd[sizeof(info->simd) - 1] = 0;
	return info->simd;
}

static int info_main(int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_OPTIONS, { 0 } };
	const struct command *c = find_command("info");
	struct mcai_info info;
	struct mcai_dev dev;
	unsigned int bit;
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1)
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
	if (optind != argc)
		return usage_error(c, "info takes no arguments");

	if (open_device(&dev))
		return EXIT_FAILURE;
	if (mcai_dev_get_info(&dev, &info)) {
		fail("%s", mcai_dev_error(&dev));
		mcai_dev_close(&dev);
		return EXIT_FAILURE;
	}
	mcai_dev_close(&dev);
	if (info.abi_version != MCAI_ABI_VERSION)
		warn("%s speaks ABI version %u, this mcaictl version %d",
		     dev.path, info.abi_version, MCAI_ABI_VERSION);

	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "device", dev.path);
		mcai_json_kv_uint(&json, "abi_version", info.abi_version);
		mcai_json_kv_uint(&json, "blob_format_version",
				  info.blob_format_version);
		mcai_json_kv_uint(&json, "features_mask", info.features);
		mcai_json_key(&json, "features");
		mcai_json_array_begin_inline(&json);
		for (bit = 0; bit < 64; bit++) {
			const char *name = mcai_feature_name(bit);
			char unknown[24];

			if (!(info.features & (1ULL << bit)))
				continue;
			if (!name) {
				snprintf(unknown, sizeof(unknown), "bit%u", bit);
				name = unknown;
			}
			mcai_json_string(&json, name);
		}
		mcai_json_array_end(&json);
		mcai_json_key(&json, "limits");
		mcai_json_object_begin(&json);
		mcai_json_kv_uint(&json, "max_blob_size", info.max_blob_size);
		mcai_json_kv_uint(&json, "max_models", info.max_models);
		mcai_json_kv_uint(&json, "max_layers", info.max_layers);
		mcai_json_kv_uint(&json, "max_dim", info.max_dim);
		mcai_json_kv_uint(&json, "max_arena", info.max_arena);
		mcai_json_object_end(&json);
		mcai_json_kv_uint(&json, "nr_models", info.nr_models);
		mcai_json_kv_string(&json, "simd", info_simd(&info));
		mcai_json_object_end(&json);
		return 0;
	}
	printf("device:          %s\n", dev.path);
	printf("abi version:     %u\n", info.abi_version);
	printf("blob format:     %u\n", info.blob_format_version);
	printf("features:       ");
	if (!info.features)
		printf(" none");
	for (bit = 0; bit < 64; bit++) {
		if (!(info.features & (1ULL << bit)))
			continue;
		if (mcai_feature_name(bit))
			printf(" %s", mcai_feature_name(bit));
		else
			printf(" bit%u", bit);
	}
	printf("\n");
	printf("max blob size:   %u bytes\n", info.max_blob_size);
	printf("max models:      %u\n", info.max_models);
	printf("max layers:      %u\n", info.max_layers);
	printf("max layer width: %u\n", info.max_dim);
	printf("max arena:       %u bytes\n", info.max_arena);
	printf("models loaded:   %u\n", info.nr_models);
	printf("simd:            %s\n", info_simd(&info));
	return 0;
}

/* ---------------------------------------------------------------------- */
/* load                                                                   */
/* ---------------------------------------------------------------------- */

static int load_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "force", no_argument, NULL, 'f' },
		{ "no-verify", no_argument, NULL, OPT_NO_VERIFY },
		{ 0 }
	};
	const struct command *c = find_command("load");
	bool force = false, verify = true, have_dev;
	struct mcai_load_reply reply;
	struct mcai_limits lim;
	struct user_model um;
	struct mcai_info info;
	struct mcai_dev dev;
	const char *path;
	int ch, tv, ret = EXIT_FAILURE;
	u32 failed = 0;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjf", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == 'f')
			force = true;
		else if (ch == OPT_NO_VERIFY)
			verify = false;
	}
	if (argc - optind != 1)
		return usage_error(c, argc == optind ? "no model file given" :
					"load takes one model file");
	path = argv[optind];

	/* Check with the module's own limits when it is there. */
	have_dev = mcai_dev_open(&dev, opt_device) == 0;
	mcai_limits_default(&lim);
	if (have_dev && mcai_dev_get_info(&dev, &info) == 0) {
		lim.max_blob_size = info.max_blob_size;
		lim.max_layers = info.max_layers;
		lim.max_dim = info.max_dim;
		lim.max_arena = info.max_arena;
	}
	if (user_model_load(&um, path, &lim))
		goto out;
	if (um.size > UINT32_MAX) {
		fail("%s: model rejected: larger than 4 GiB", path);
		goto out;
	}
	if (verify && !um.valid) {
		fail("%s: model rejected: %s (at byte %u)", path,
		     um.verdict.reason, um.verdict.offset);
		goto out;
	}
	tv = verify && um.m.tv_count ?
	     mcai_model_check_vectors(&um.m, &failed) : 0;
	if (tv == -ENOMEM) {
		fail("out of memory");
		goto out;
	}
	if (tv) {
		fail("%s: model rejected: test vector %u failed (at byte %zu)",
		     path, failed,
		     (size_t)((const u8 *)um.m.tv - um.blob) +
			     (size_t)failed * (um.m.input_len + um.m.output_len));
		goto out;
	}
	if (!have_dev) {
		fail("%s", mcai_dev_error(&dev));
		goto out;
	}
	if (mcai_dev_load(&dev, um.blob, (u32)um.size,
			  force ? MCAI_LOAD_FORCE : 0, &reply)) {
		fail("%s: %s", path, mcai_dev_error(&dev));
		goto out;
	}
	ret = 0;
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "action",
				    reply.replaced_version ? "replaced" :
							     "loaded");
		mcai_json_kv_string(&json, "name", um.valid ? um.m.name : NULL);
		mcai_json_kv_uint(&json, "id", reply.model_id);
		mcai_json_kv_uint(&json, "version", reply.version);
		mcai_json_kv_uint(&json, "replaced_version",
				  reply.replaced_version);
		mcai_json_kv_string(&json, "file", path);
		if (um.valid)
			mcai_json_kv_hex(&json, "digest", um.m.digest,
					 MCAI_DIGEST_LEN);
		mcai_json_object_end(&json);
	} else if (reply.replaced_version) {
		printf("replaced %s version %u -> %u (id %u)\n",
		       um.valid ? um.m.name : path, reply.replaced_version,
		       reply.version, reply.model_id);
	} else {
		printf("loaded %s version %u (id %u)\n",
		       um.valid ? um.m.name : path, reply.version,
		       reply.model_id);
	}
out:
	if (have_dev)
		mcai_dev_close(&dev);
	user_model_free(&um);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* list, show                                                             */
/* ---------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * The in-kernel drivers' attachments (MCAI_IOC_ATTACH_LIST): *@recs is
 * malloc'd, *@n of them; a module without the request has none.
 */
static int attach_list(struct mcai_dev *dev, struct mcai_attach_info **recs,
		       u32 *n)
{
	struct mcai_attach_list req;
	struct mcai_attach_info *buf = NULL;
	u32 cap = 0;
	int tries;

	*recs = NULL;
	*n = 0;
	/* drivers may come and go between two calls: retry a few times */
	for (tries = 0; tries < 8; tries++) {
		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.buf_ptr = (u64)(uintptr_t)buf;
		req.capacity = cap;
		req.rec_size = sizeof(*buf);
		if (ioctl(dev->fd, MCAI_IOC_ATTACH_LIST, &req)) {
			free(buf);
			return errno == ENOTTY ? 0 : -errno;
		}
		if (req.count <= cap) {
			*recs = buf;
			*n = req.count;
			return 0;
		}
		free(buf);
		cap = req.count + 4;
		buf = calloc(cap, sizeof(*buf));
		if (!buf)
			return -ENOMEM;
	}
	free(buf);
	return -EAGAIN;
}

static const char *attach_state(u32 state)
{
	switch (state) {
	case MCAI_ATTACH_WAITING:
		return "waiting";
	case MCAI_ATTACH_BOUND:
		return "bound";
	case MCAI_ATTACH_REFUSED:
		return "refused";
	}
	return "?";
}

/* The attachments to @name (all when NULL); returns how many printed. */
static u32 attach_print(const struct mcai_attach_info *a, u32 n,
			const char *name)
{
	u32 i, shown = 0;

	for (i = 0; i < n; i++, a++) {
		if (name && strncmp(a->name, name, sizeof(a->name)))
			continue;
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "id", a->id);
			mcai_json_kv_string(&json, "driver", a->driver);
			mcai_json_kv_string(&json, "name", a->name);
			mcai_json_kv_string(&json, "kind",
					    a->flags & MCAI_ATTACH_PIPELINE ?
					    "pipeline" : "model");
			mcai_json_kv_string(&json, "state",
					    attach_state(a->state));
			mcai_json_kv_uint(&json, "model_id", a->model_id);
			mcai_json_kv_int(&json, "error", a->error);
			mcai_json_kv_uint(&json, "binds", a->binds);
			mcai_json_kv_uint(&json, "submitted", a->submitted);
			mcai_json_kv_uint(&json, "completed", a->completed);
			mcai_json_kv_uint(&json, "dropped", a->dropped);
			mcai_json_kv_uint(&json, "shed", a->shed);
			mcai_json_object_end(&json);
			shown++;
			continue;
		}
		if (!shown++)
			printf("%4s  %-20s %-24s %-8s %5s %10s %10s %10s\n",
			       "ATT", "DRIVER", "NAME", "STATE", "BINDS",
			       "SUBMITTED", "COMPLETED", "DROPPED");
		printf("%4u  %-20s %-24s %-8s %5u %10llu %10llu %10llu",
		       a->id, a->driver, a->name, attach_state(a->state),
		       a->binds, (unsigned long long)a->submitted,
		       (unsigned long long)a->completed,
		       (unsigned long long)a->dropped);
		if (a->flags & MCAI_ATTACH_PIPELINE)
			printf("  (pipeline)");
		if (a->state == MCAI_ATTACH_BOUND && a->model_id)
			printf("  (model id %u)", a->model_id);
		if (a->state == MCAI_ATTACH_REFUSED)
			printf("  (%s)", strerror(-a->error));
		printf("\n");
	}
	return shown;
}

static int list_main(int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_OPTIONS, { 0 } };
	const struct command *c = find_command("list");
	struct mcai_attach_info *att = NULL;
	struct mcai_model_info mi;
	struct mcai_dev dev;
	u32 *ids, count, i, shown = 0, n_att = 0;
	int ch, ret = 0;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1)
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
	if (optind != argc)
		return usage_error(c, "list takes no arguments");

	if (open_device(&dev))
		return EXIT_FAILURE;
	if (mcai_dev_list(&dev, &ids, &count)) {
		fail("%s", mcai_dev_error(&dev));
		mcai_dev_close(&dev);
		return EXIT_FAILURE;
	}
	if (count)
		qsort(ids, count, sizeof(*ids), cmp_u32);

	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_key(&json, "models");
		mcai_json_array_begin(&json);
	}
	for (i = 0; i < count; i++) {
		struct mcai_sel sel = { .id = ids[i] };
		int err = mcai_dev_model_info(&dev, sel, &mi);

		if (err == -ENOENT)
			continue;	/* unloaded since the list was taken */
		if (err) {
			fprintf(stderr, "mcaictl: %s\n", mcai_dev_error(&dev));
			ret = EXIT_FAILURE;
			continue;
		}
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "id", mi.ref.model_id);
			mcai_json_kv_string(&json, "name", mi.ref.name);
			mcai_json_kv_uint(&json, "version", mi.version);
			mcai_json_kv_uint(&json, "layers", mi.n_layers);
			mcai_json_kv_uint(&json, "input_len", mi.input_len);
			mcai_json_kv_uint(&json, "output_len", mi.output_len);
			mcai_json_kv_uint(&json, "macs", mi.macs);
			mcai_json_kv_uint(&json, "inferences", mi.inferences);
			mcai_json_kv_hex(&json, "digest", mi.digest,
					 MCAI_DIGEST_LEN);
			mcai_json_object_end(&json);
			continue;
		}
		if (!shown++)
			printf("%4s  %-24s %7s %6s %12s %10s %12s  %s\n", "ID",
			       "NAME", "VERSION", "LAYERS", "IN->OUT", "MACS",
			       "INFERENCES", "DIGEST");
		{
			char io[32];

			snprintf(io, sizeof(io), "%u->%u", mi.input_len,
				 mi.output_len);
			printf("%4u  %-24s %7u %6u %12s %10llu %12llu  ",
			       mi.ref.model_id, mi.ref.name, mi.version,
			       mi.n_layers, io, (unsigned long long)mi.macs,
			       (unsigned long long)mi.inferences);
			print_hex(stdout, mi.digest, 6);
			printf("\n");
		}
	}
	if (opt_json) {
		mcai_json_array_end(&json);
	} else if (!shown && !ret) {
		printf("no models loaded\n");
	}
	if (attach_list(&dev, &att, &n_att)) {
		fprintf(stderr, "mcaictl: cannot list the drivers' attachments\n");
		ret = EXIT_FAILURE;
	}
	if (opt_json) {
		mcai_json_key(&json, "attachments");
		mcai_json_array_begin(&json);
		attach_print(att, n_att, NULL);
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
	} else if (n_att) {
		printf("\n");
		attach_print(att, n_att, NULL);
	}
	free(att);
	free(ids);
	mcai_dev_close(&dev);
	return ret;
}

static int show_main(int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_OPTIONS, { 0 } };
	const struct command *c = find_command("show");
	struct mcai_attach_info *att = NULL;
	struct mcai_model_info mi;
	struct mcai_dev dev;
	struct mcai_sel sel;
	u32 n_att = 0;
	char err[160];
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1)
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
	if (argc - optind != 1)
		return usage_error(c, argc == optind ? "no model name given" :
					"show takes one model name");
	if (mcai_sel_parse(&sel, argv[optind], err, sizeof(err)))
		return usage_error(c, "%s", err);

	if (open_device(&dev))
		return EXIT_FAILURE;
	/* drivers attached to the name, loaded or not (deferred binding) */
	if (attach_list(&dev, &att, &n_att))
		n_att = 0;
	if (mcai_dev_model_info(&dev, sel, &mi)) {
		fail("%s", mcai_dev_error(&dev));
		mcai_dev_close(&dev);
		if (!opt_json && !sel.id && attach_print(att, n_att, sel.name))
			printf("(not loaded: the drivers above wait for it)\n");
		free(att);
		return EXIT_FAILURE;
	}
	mcai_dev_close(&dev);

	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_uint(&json, "id", mi.ref.model_id);
		mcai_json_kv_string(&json, "name", mi.ref.name);
		mcai_json_kv_uint(&json, "version", mi.version);
		mcai_json_kv_uint(&json, "layers", mi.n_layers);
		mcai_json_kv_uint(&json, "input_len", mi.input_len);
		mcai_json_kv_float(&json, "input_scale",
				    float_bits(mi.input_scale));
		mcai_json_kv_int(&json, "input_zp", mi.input_zp);
		mcai_json_kv_uint(&json, "output_len", mi.output_len);
		mcai_json_kv_float(&json, "output_scale",
				    float_bits(mi.output_scale));
		mcai_json_kv_int(&json, "output_zp", mi.output_zp);
		mcai_json_kv_string(&json, "head", head_name(mi.head));
		if (mi.head == MCAI_HEAD_THRESHOLD)
			mcai_json_kv_int(&json, "head_threshold",
					 mi.head_threshold);
		mcai_json_kv_uint(&json, "macs", mi.macs);
		mcai_json_kv_uint(&json, "blob_size", mi.blob_size);
		mcai_json_kv_uint(&json, "arena_size", mi.arena_size);
		mcai_json_kv_uint(&json, "test_vectors", mi.tv_count);
		mcai_json_kv_uint(&json, "inferences", mi.inferences);
		mcai_json_kv_hex(&json, "digest", mi.digest, MCAI_DIGEST_LEN);
		mcai_json_key(&json, "attachments");
		mcai_json_array_begin(&json);
		attach_print(att, n_att, mi.ref.name);
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
		free(att);
		return 0;
	}
	printf("model %s (id %u)\n", mi.ref.name, mi.ref.model_id);
	printf("  version:      %u\n", mi.version);
	printf("  layers:       %u\n", mi.n_layers);
	printf("  input:        %u int8, scale %g, zero point %d\n",
	       mi.input_len, float_bits(mi.input_scale), mi.input_zp);
	printf("  output:       %u int8, scale %g, zero point %d\n",
	       mi.output_len, float_bits(mi.output_scale), mi.output_zp);
	if (mi.head == MCAI_HEAD_THRESHOLD)
		printf("  head:         threshold (class 1 when score >= %d)\n",
		       mi.head_threshold);
	else
		printf("  head:         %s\n", head_name(mi.head));
	printf("  MACs:         %llu per inference\n",
	       (unsigned long long)mi.macs);
	printf("  blob size:    %u bytes\n", mi.blob_size);
	printf("  arena:        %u bytes\n", mi.arena_size);
	printf("  test vectors: %u\n", mi.tv_count);
	printf("  inferences:   %llu\n", (unsigned long long)mi.inferences);
	printf("  digest:       sha256:");
	print_hex(stdout, mi.digest, MCAI_DIGEST_LEN);
	printf("\n");
	if (n_att) {
		printf("  attached drivers:\n");
		attach_print(att, n_att, mi.ref.name);
	}
	free(att);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* attach, detach: an IIO device's buffer into a model (mcai_iio.ko)      */
/* ---------------------------------------------------------------------- */

#define MCAI_IIO_PARAMS "/sys/module/mcai_iio/parameters/"

/* Write @line to mcai_iio's control file @what; 0 or an exit status. */
static int iio_ctl(const char *what, const char *line)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), MCAI_IIO_PARAMS "%s", what);
	f = fopen(path, "w");
	if (!f) {
		if (errno == ENOENT)
			fail("mcai_iio is not loaded (modprobe mcai_iio)");
		else
			fail("%s: %s", path, strerror(errno));
		return EXIT_FAILURE;
	}
	ret = fputs(line, f) < 0 ? errno : 0;
	if (fclose(f) && !ret)
		ret = errno;
	if (ret) {
		fail("%s: %s (the kernel log says why)", what, strerror(ret));
		return EXIT_FAILURE;
	}
	return 0;
}

static int attach_main(int argc, char **argv)
{
	enum { OPT_MODEL = 1000, OPT_CHANNELS, OPT_WINDOW, OPT_STRIDE,
	       OPT_SHIFT };
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "channels", required_argument, NULL, OPT_CHANNELS },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "stride", required_argument, NULL, OPT_STRIDE },
		{ "shift", required_argument, NULL, OPT_SHIFT },
		{ 0 }
	};
	const struct command *c = find_command("attach");
	const char *model = NULL, *chans = NULL;
	unsigned long window = 0, stride = 0, shift = 0;
	char line[512], *end;
	int ch, n;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		switch (ch) {
		case OPT_MODEL:
			model = optarg;
			break;
		case OPT_CHANNELS:
			chans = optarg;
			if (!*chans || strspn(chans, "0123456789,") != strlen(chans))
				return usage_error(c, "--channels takes scan indices: 0,1,2");
			break;
		case OPT_WINDOW:
		case OPT_STRIDE:
		case OPT_SHIFT:
			errno = 0;
			*(ch == OPT_WINDOW ? &window : ch == OPT_STRIDE ?
			  &stride : &shift) = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-')
				return usage_error(c, "bad number: %s", optarg);
			break;
		}
	}
	if (argc - optind != 1 || !model)
		return usage_error(c, "attach takes one device and --model NAME");
	if (strncmp(argv[optind], "iio:device", 10) ||
	    strspn(argv[optind] + 10, "0123456789") != strlen(argv[optind] + 10) ||
	    !argv[optind][10])
		return usage_error(c, "the device is iio:deviceN");
	if (!*model || strlen(model) >= MCAI_NAME_LEN || strpbrk(model, " \t\n="))
		return usage_error(c, "bad model name");
	n = snprintf(line, sizeof(line), "%s %s", argv[optind], model);
	if (chans)
		n += snprintf(line + n, sizeof(line) - n, " channels=%s", chans);
	if (window)
		n += snprintf(line + n, sizeof(line) - n, " window=%lu", window);
	if (stride)
		n += snprintf(line + n, sizeof(line) - n, " stride=%lu", stride);
	if (shift)
		n += snprintf(line + n, sizeof(line) - n, " shift=%lu", shift);
	if (n >= (int)sizeof(line))
		return usage_error(c, "arguments too long");
	if (iio_ctl("attach", line))
		return EXIT_FAILURE;
	printf("attached %s to %s\n", argv[optind], model);
	return 0;
}

static int detach_main(int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_OPTIONS, { 0 } };
	const struct command *c = find_command("detach");
	const char *id;
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1)
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
	if (argc - optind != 1)
		return usage_error(c, "detach takes one attachment id, or all");
	id = argv[optind];
	if (strcmp(id, "all") && (!*id || strspn(id, "0123456789") != strlen(id)))
		return usage_error(c, "an attachment id (/sys/module/mcai_iio/parameters/list), or all");
	if (iio_ctl("detach", id))
		return EXIT_FAILURE;
	printf("detached %s\n", id);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* infer-dmabuf                                                           */
/* ---------------------------------------------------------------------- */

/*
 * FILE into a sealed memfd, the memfd into a dma-buf by /dev/udmabuf
 * (what a camera or ADC driver would hand over); the dma-buf's fd, or -1
 * with the reason printed.  *@size is the file's size (the buffer is
 * that rounded up to whole pages).
 */
static int dmabuf_from_file(const char *path, u64 *size)
{
	struct udmabuf_create uc = { 0 };
	long page = sysconf(_SC_PAGESIZE);
	int in = -1, mfd = -1, ub = -1, dfd = -1;
	u8 buf[65536];
	ssize_t n;
	u64 len = 0;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		fail("%s: %s", path, strerror(errno));
		goto out;
	}
	mfd = memfd_create("mcai-frames", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0) {
		fail("memfd_create: %s", strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(mfd, buf, n) != n) {
			fail("memfd: %s", strerror(errno));
			goto out;
		}
		len += n;
	}
	if (n < 0 || !len) {
		fail("%s: %s", path, n < 0 ? strerror(errno) : "empty");
		goto out;
	}
	/* udmabuf takes whole pages of a memfd that cannot shrink */
	*size = len;
	len = (len + page - 1) / page * page;
	if (ftruncate(mfd, len) || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		fail("memfd: %s", strerror(errno));
		goto out;
	}
	ub = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (ub < 0) {
		fail("/dev/udmabuf: %s (a kernel with CONFIG_UDMABUF, or "
		     "modprobe udmabuf)", strerror(errno));
		goto out;
	}
	uc.memfd = mfd;
	uc.flags = UDMABUF_FLAGS_CLOEXEC;
	uc.size = len;
	dfd = ioctl(ub, UDMABUF_CREATE, &uc);
	if (dfd < 0)
		fail("UDMABUF_CREATE: %s", strerror(errno));
out:
	if (ub >= 0)
		close(ub);
	if (mfd >= 0)
		close(mfd);
	if (in >= 0)
		close(in);
	return dfd;
}

static int infer_dmabuf_main(int argc, char **argv)
{
	enum { OPT_FD = 0x400, OPT_OFFSET, OPT_STRIDE, OPT_FRAMES };
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "fd", required_argument, NULL, OPT_FD },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "stride", required_argument, NULL, OPT_STRIDE },
		{ "frames", required_argument, NULL, OPT_FRAMES },
		{ 0 }
	};
	const struct command *c = find_command("infer-dmabuf");
	struct mcai_infer_dmabuf req = { .size = sizeof(req) };
	struct mcai_model_info mi;
	struct mcai_dev dev = { .fd = -1 };
	struct mcai_sel sel;
	s32 *classes = NULL;
	s8 *scores = NULL;
	uint64_t v;
	u64 size = 0;
	u32 fd = UINT32_MAX, frames = 0, i;
	char err[160];
	int ch, dfd = -1, ret = EXIT_FAILURE;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1) {
		switch (ch) {
		case OPT_FD:
			if (parse_u32(optarg, &fd) || fd > INT_MAX)
				return usage_error(c, "--fd wants an open dma-buf fd, not \"%s\"", optarg);
			break;
		case OPT_OFFSET:
			if (parse_u64(optarg, &v))
				return usage_error(c, "--offset wants bytes, not \"%s\"", optarg);
			req.offset = v;
			break;
		case OPT_STRIDE:
			if (parse_u64(optarg, &v))
				return usage_error(c, "--stride wants bytes, not \"%s\"", optarg);
			req.stride = v;
			break;
		case OPT_FRAMES:
			if (parse_u32(optarg, &frames) || !frames ||
			    frames > MCAI_DMABUF_MAX_FRAMES)
				return usage_error(c, "--frames wants 1..%u, not \"%s\"",
						   MCAI_DMABUF_MAX_FRAMES, optarg);
			break;
		default:
			if (ch <= OPT_DONE_BASE)
				return OPT_DONE_BASE - ch;
		}
	}
	if (argc - optind != (fd == UINT32_MAX ? 2 : 1))
		return usage_error(c, "infer-dmabuf takes a model name and a file, or a model name and --fd");
	if (mcai_sel_parse(&sel, argv[optind], err, sizeof(err)))
		return usage_error(c, "%s", err);
	if (open_device(&dev))
		return EXIT_FAILURE;
	if (mcai_dev_model_info(&dev, sel, &mi)) {
		fail("%s", mcai_dev_error(&dev));
		goto out;
	}
	if (fd != UINT32_MAX) {
		dfd = (int)fd;
	} else {
		dfd = dmabuf_from_file(argv[optind + 1], &size);
		if (dfd < 0)
			goto out;
	}
	if (!frames) {		/* as many whole frames as the file holds */
		u64 step = req.stride ? req.stride : mi.input_len;

		if (!size || size < req.offset + mi.input_len) {
			fail("give --frames: the buffer's frame count is not known");
			goto out;
		}
		frames = (size - req.offset - mi.input_len) / step + 1;
		if (frames > MCAI_DMABUF_MAX_FRAMES)
			frames = MCAI_DMABUF_MAX_FRAMES;
	}
	classes = calloc(frames, sizeof(*classes));
	scores = calloc(frames, mi.output_len ? mi.output_len : 1);
	if (!classes || !scores) {
		fail("out of memory");
		goto out;
	}
	req.ref.model_id = mi.ref.model_id;
	req.fd = dfd;
	req.frames = frames;
	req.input_len = mi.input_len;
	req.classes_ptr = (uintptr_t)classes;
	req.scores_ptr = (uintptr_t)scores;
	req.scores_len = frames * mi.output_len;
	if (ioctl(dev.fd, MCAI_IOC_INFER_DMABUF, &req)) {
		fail("INFER_DMABUF: %s", strerror(errno));
		goto out;
	}
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "model", mi.ref.name);
		mcai_json_kv_uint(&json, "version", req.version);
		mcai_json_key(&json, "classes");
		mcai_json_array_begin_inline(&json);
		for (i = 0; i < frames; i++)
			mcai_json_int(&json, classes[i]);
		mcai_json_array_end(&json);
		mcai_json_object_end(&json);
	} else {
		for (i = 0; i < frames; i++)
			printf("%u\t%d\t%d\n", i, classes[i],
			       scores[(size_t)i * mi.output_len +
				      (classes[i] >= 0 &&
				       (u32)classes[i] < mi.output_len ?
				       classes[i] : 0)]);
		printf("%u frames through %s version %u from a dma-buf\n",
		       frames, mi.ref.name, req.version);
	}
	ret = 0;
out:
	if (dfd >= 0 && fd == UINT32_MAX)
		close(dfd);
	free(classes);
	free(scores);
	mcai_dev_close(&dev);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* unload                                                                 */
/* ---------------------------------------------------------------------- */

static int unload_main(int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_OPTIONS, { 0 } };
	const struct command *c = find_command("unload");
	struct mcai_model_info mi;
	struct mcai_dev dev;
	struct mcai_sel sel;
	char err[160];
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1)
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
	if (argc - optind != 1)
		return usage_error(c, argc == optind ? "no model name given" :
					"unload takes one model name");
	if (mcai_sel_parse(&sel, argv[optind], err, sizeof(err)))
		return usage_error(c, "%s", err);

	if (open_device(&dev))
		return EXIT_FAILURE;
	/* For the report; the unload itself goes by what was asked. */
	if (mcai_dev_model_info(&dev, sel, &mi))
		memset(&mi, 0, sizeof(mi));
	if (mcai_dev_unload(&dev, sel)) {
		fail("%s", mcai_dev_error(&dev));
		mcai_dev_close(&dev);
		return EXIT_FAILURE;
	}
	mcai_dev_close(&dev);
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "action", "unloaded");
		mcai_json_kv_string(&json, "name", mi.ref.model_id ?
				    mi.ref.name : sel.name);
		if (mi.ref.model_id) {
			mcai_json_kv_uint(&json, "id", mi.ref.model_id);
			mcai_json_kv_uint(&json, "version", mi.version);
		}
		mcai_json_object_end(&json);
	} else if (mi.ref.model_id) {
		printf("unloaded %s version %u (id %u)\n", mi.ref.name,
		       mi.version, mi.ref.model_id);
	} else {
		printf("unloaded %s\n", argv[optind]);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* inspect                                                                */
/* ---------------------------------------------------------------------- */

static const char *op_type_name(unsigned int type)
{
	static const char *const names[] = {
		[MCAI_OP_CONV2D] = "conv2d", [MCAI_OP_DEPTHWISE] = "depthwise",
		[MCAI_OP_FC] = "fc", [MCAI_OP_MAX_POOL2D] = "maxpool2d",
		[MCAI_OP_AVG_POOL2D] = "avgpool2d",
		[MCAI_OP_GLOBAL_AVG_POOL] = "globalavgpool",
		[MCAI_OP_ADD] = "add", [MCAI_OP_SOFTMAX] = "softmax",
		[MCAI_OP_LUT] = "lut", [MCAI_OP_RESHAPE] = "reshape",
		[MCAI_OP_TREE] = "tree", [MCAI_OP_RECON] = "recon",
		[MCAI_OP_MUL] = "mul", [MCAI_OP_MEAN] = "mean",
		[MCAI_OP_PAD] = "pad", [MCAI_OP_CONCAT] = "concat",
	};

	return type < sizeof(names) / sizeof(names[0]) && names[type] ?
	       names[type] : "?";
}

static const char *dtype_name(unsigned int dtype)
{
	return dtype == MCAI_DT_INT8 ? "int8" : dtype == MCAI_DT_INT16 ?
	       "int16" : "int32";
}

/* Format v2 (a graph): ops, tensors, MACs, arena.  @blob is freed here. */
static int inspect_graph(const char *path, u8 *blob, size_t size)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_graph g;
	void *state = NULL, *arena = NULL;
	u32 need, failed = 0, i, k;
	int tv = 0, ret = EXIT_FAILURE;

	mcai_limits_default(&lim);
	need = mcai_graph_state_size(blob, (u32)size, &lim, &v);
	if (need)
		state = aligned_alloc(8, (need + 7) & ~7U);
	if (need && !state) {
		fail("out of memory");
		goto out;
	}
	if (!need || mcai_graph_verify(&g, blob, (u32)size, &lim, state, need,
				       &v)) {
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "file", path);
			mcai_json_kv_bool(&json, "valid", false);
			mcai_json_kv_string(&json, "reason", v.reason);
			mcai_json_kv_uint(&json, "offset", v.offset);
			mcai_json_kv_uint(&json, "size", size);
			mcai_json_object_end(&json);
		}
		fail("%s: model rejected: %s (at byte %u)", path, v.reason,
		     v.offset);
		goto out;
	}
	arena = aligned_alloc(8, ((g.arena_size + 7) & ~7U) + 8);
	if (!arena) {
		fail("out of memory");
		goto out;
	}
	if (g.tv_count)
		tv = mcai_graph_check_vectors(&g, arena, &failed);
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "file", path);
		mcai_json_kv_bool(&json, "valid", tv == 0);
		mcai_json_kv_uint(&json, "size", size);
		mcai_json_kv_uint(&json, "format_version", MCAI_BLOB2_VERSION);
		mcai_json_kv_string(&json, "name", g.name);
		mcai_json_kv_uint(&json, "version", g.version);
		mcai_json_kv_string(&json, "head", head_name(g.head));
		mcai_json_kv_uint(&json, "arena_size", g.arena_size);
		mcai_json_kv_uint(&json, "state_size", need);
		mcai_json_kv_uint(&json, "macs", g.macs);
		mcai_json_key(&json, "ops");
		mcai_json_array_begin(&json);
		for (i = 0; i < g.n_ops; i++) {
			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "type",
					    op_type_name(g.op[i].type));
			mcai_json_kv_uint(&json, "out", g.op[i].out);
			mcai_json_kv_uint(&json, "macs", g.op[i].macs);
			mcai_json_object_end(&json);
		}
		mcai_json_array_end(&json);
		mcai_json_key(&json, "tensors");
		mcai_json_array_begin(&json);
		for (i = 0; i < g.n_tensors; i++) {
			const struct mcai_gtensor *t = &g.t[i];

			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "dtype", dtype_name(t->dtype));
			mcai_json_kv_bool(&json, "const",
					  t->kind == MCAI_TK_CONST);
			mcai_json_kv_uint(&json, "bytes", t->bytes);
			if (t->kind == MCAI_TK_ARENA)
				mcai_json_kv_uint(&json, "arena_offset",
						  t->offset);
			mcai_json_object_end(&json);
		}
		mcai_json_array_end(&json);
		mcai_json_kv_uint(&json, "test_vectors", g.tv_count);
		mcai_json_kv_bool(&json, "test_vectors_passed", tv == 0);
		mcai_json_kv_hex(&json, "digest", g.digest, MCAI_DIGEST_LEN);
		mcai_json_object_end(&json);
	} else {
		printf("%s: mcai model blob, format %d (graph), %zu bytes%s\n",
		       path, MCAI_BLOB2_VERSION, size, tv ? "" : ", verified");
		printf("  name:         %s\n", g.name);
		printf("  version:      %u\n", g.version);
		printf("  head:         %s\n", head_name(g.head));
		printf("  arena:        %u bytes (state %u)\n", g.arena_size,
		       need);
		printf("  MACs:         %llu per inference\n",
		       (unsigned long long)g.macs);
		for (i = 0; i < g.n_inputs + g.n_outputs; i++) {
			bool in = i < g.n_inputs;
			u32 j = in ? i : i - g.n_inputs;

			printf("  %-6s        %s = tensor %u\n", in ? "input" :
			       "output", in ? g.input_name[j] : g.output_name[j],
			       in ? g.input[j] : g.output[j]);
		}
		printf("  tensors:      %u\n", g.n_tensors);
		printf("    %3s  %-5s %-5s %-22s %8s %8s %6s\n", "#", "TYPE",
		       "WHERE", "NHWC", "BYTES", "OFFSET", "ZP");
		for (i = 0; i < g.n_tensors; i++) {
			const struct mcai_gtensor *t = &g.t[i];
			char dims[48], off[12] = "-";

			snprintf(dims, sizeof(dims), "%ux%ux%ux%u", t->dims[0],
				 t->dims[1], t->dims[2], t->dims[3]);
			if (t->kind == MCAI_TK_ARENA)
				snprintf(off, sizeof(off), "%u", t->offset);
			printf("    %3u  %-5s %-5s %-22s %8u %8s %6d\n", i,
			       dtype_name(t->dtype),
			       t->kind == MCAI_TK_CONST ? "const" : "arena",
			       dims, t->bytes, off, t->zp);
		}
		printf("  ops:          %u\n", g.n_ops);
		printf("    %3s  %-14s %-16s %4s %12s\n", "#", "TYPE", "IN", "OUT",
		       "MACS");
		for (i = 0; i < g.n_ops; i++) {
			char ins[40] = "";
			size_t n = 0;

			for (k = 0; k < g.op[i].n_in; k++)
				n += (size_t)snprintf(ins + n, sizeof(ins) - n,
						      k ? ",%u" : "%u",
						      g.op[i].in[k]);
			printf("    %3u  %-14s %-16s %4u %12llu\n", i,
			       op_type_name(g.op[i].type), ins, g.op[i].out,
			       (unsigned long long)g.op[i].macs);
		}
		if (!g.tv_count)
			printf("  test vectors: none\n");
		else if (!tv)
			printf("  test vectors: %u, all reproduced by the engine\n",
			       g.tv_count);
		else
			printf("  test vectors: %u, vector %u FAILS\n", g.tv_count,
			       failed);
	}
	ret = tv ? EXIT_FAILURE : EXIT_SUCCESS;
out:
	free(arena);
	free(state);
	free(blob);
	return ret;
}

static int inspect_main(int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_OPTIONS, { 0 } };
	const struct command *c = find_command("inspect");
	const struct mcai_model *m;
	u8 file_sha[MCAI_SHA256_LEN];
	struct mcai_limits lim;
	struct user_model um;
	const char *path;
	u32 failed = 0, i;
	int ch, tv = 0;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1)
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
	if (argc - optind != 1)
		return usage_error(c, argc == optind ? "no model file given" :
					"inspect takes one model file");
	path = argv[optind];

	{
		u8 *blob;
		size_t size;

		/* Format v2 blobs are graphs, with their own verifier. */
		if (read_all(path, MAX_BLOB_FILE, &blob, &size))
			return EXIT_FAILURE;
		if (mcai_blob_format(blob, (u32)size) == MCAI_BLOB2_VERSION)
			return inspect_graph(path, blob, size);
		free(blob);
	}
	mcai_limits_default(&lim);
	if (user_model_load(&um, path, &lim))
		return EXIT_FAILURE;
	if (!um.valid) {
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "file", path);
			mcai_json_kv_bool(&json, "valid", false);
			mcai_json_kv_string(&json, "reason", um.verdict.reason);
			mcai_json_kv_uint(&json, "offset", um.verdict.offset);
			mcai_json_kv_uint(&json, "size", um.size);
			mcai_json_object_end(&json);
		}
		fail("%s: model rejected: %s (at byte %u)", path,
		     um.verdict.reason, um.verdict.offset);
		user_model_free(&um);
		return EXIT_FAILURE;
	}
	m = &um.m;
	mcai_sha256(um.blob, um.size, file_sha);
	if (m->tv_count)
		tv = mcai_model_check_vectors(m, &failed);
	if (tv == -ENOMEM) {
		user_model_free(&um);
		return fail("out of memory");
	}

	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "file", path);
		mcai_json_kv_bool(&json, "valid", tv == 0);
		if (tv) {
			char reason[64];

			snprintf(reason, sizeof(reason),
				 "test vector %u failed", failed);
			mcai_json_kv_string(&json, "reason", reason);
		}
		mcai_json_kv_uint(&json, "size", um.size);
		mcai_json_kv_uint(&json, "format_version", MCAI_BLOB_VERSION);
		mcai_json_kv_string(&json, "name", m->name);
		mcai_json_kv_uint(&json, "version", m->version);
		mcai_json_kv_uint(&json, "input_len", m->input_len);
		mcai_json_kv_float(&json, "input_scale",
				    float_bits(m->input_scale));
		mcai_json_kv_int(&json, "input_zp", m->input_zp);
		mcai_json_kv_uint(&json, "output_len", m->output_len);
		mcai_json_kv_float(&json, "output_scale",
				    float_bits(m->output_scale));
		mcai_json_kv_int(&json, "output_zp", m->output_zp);
		mcai_json_kv_string(&json, "head", head_name(m->head));
		if (m->head == MCAI_HEAD_THRESHOLD)
			mcai_json_kv_int(&json, "head_threshold",
					 m->head_threshold);
		mcai_json_kv_uint(&json, "arena_size", m->arena_size);
		mcai_json_kv_uint(&json, "macs", m->macs);
		mcai_json_key(&json, "layers");
		mcai_json_array_begin(&json);
		for (i = 0; i < m->n_layers; i++) {
			const struct mcai_layer *l = &m->layer[i];

			mcai_json_object_begin(&json);
			mcai_json_kv_string(&json, "type",
					    layer_type_name(l->type));
			mcai_json_kv_string(&json, "activation",
					    activation_name(l->activation));
			mcai_json_kv_uint(&json, "in_len", l->in_len);
			mcai_json_kv_uint(&json, "out_len", l->out_len);
			mcai_json_kv_int(&json, "in_zp", l->in_zp);
			mcai_json_kv_int(&json, "out_zp", l->out_zp);
			mcai_json_kv_int(&json, "clamp_min", l->clamp_min);
			mcai_json_kv_int(&json, "clamp_max", l->clamp_max);
			mcai_json_kv_uint(&json, "macs",
					  l->type == MCAI_LAYER_FC ?
					  (u64)l->in_len * l->out_len : 0);
			mcai_json_object_end(&json);
		}
		mcai_json_array_end(&json);
		mcai_json_key(&json, "test_vectors");
		mcai_json_object_begin(&json);
		mcai_json_kv_uint(&json, "count", m->tv_count);
		mcai_json_kv_bool(&json, "passed", tv == 0);
		if (tv)
			mcai_json_kv_uint(&json, "failed_index", failed);
		mcai_json_object_end(&json);
		mcai_json_kv_hex(&json, "digest", m->digest, MCAI_DIGEST_LEN);
		mcai_json_kv_hex(&json, "file_sha256", file_sha, sizeof(file_sha));
		mcai_json_object_end(&json);
	} else {
		printf("%s: mcai model blob, format %d, %zu bytes%s\n", path,
		       MCAI_BLOB_VERSION, um.size,
		       tv ? "" : ", verified");
		printf("  name:         %s\n", m->name);
		printf("  version:      %u\n", m->version);
		printf("  input:        %u int8, scale %g, zero point %d\n",
		       m->input_len, float_bits(m->input_scale), m->input_zp);
		printf("  output:       %u int8, scale %g, zero point %d\n",
		       m->output_len, float_bits(m->output_scale),
		       m->output_zp);
		if (m->head == MCAI_HEAD_THRESHOLD)
			printf("  head:         threshold (class 1 when score >= %d)\n",
			       m->head_threshold);
		else
			printf("  head:         %s\n", head_name(m->head));
		printf("  arena:        %u bytes\n", m->arena_size);
		printf("  MACs:         %llu per inference\n",
		       (unsigned long long)m->macs);
		printf("  layers:       %u\n", m->n_layers);
		printf("    %2s  %-4s %-8s %13s %6s %6s %10s %10s\n", "#",
		       "TYPE", "ACT", "IN->OUT", "IN_ZP", "OUT_ZP", "CLAMP",
		       "MACS");
		for (i = 0; i < m->n_layers; i++) {
			const struct mcai_layer *l = &m->layer[i];
			char io[32], clamp[16];

			snprintf(io, sizeof(io), "%u->%u", l->in_len,
				 l->out_len);
			snprintf(clamp, sizeof(clamp), "%d..%d", l->clamp_min,
				 l->clamp_max);
			printf("    %2u  %-4s %-8s %13s %6d %6d %10s %10llu\n", i,
			       layer_type_name(l->type),
			       activation_name(l->activation), io, l->in_zp,
			       l->out_zp, clamp,
			       l->type == MCAI_LAYER_FC ?
			       (unsigned long long)l->in_len * l->out_len : 0ULL);
		}
		if (!m->tv_count)
			printf("  test vectors: none\n");
		else if (!tv)
			printf("  test vectors: %u, all reproduced by the engine\n",
			       m->tv_count);
		else
			printf("  test vectors: %u, vector %u FAILS\n",
			       m->tv_count, failed);
		printf("  digest:       sha256:");
		print_hex(stdout, m->digest, MCAI_DIGEST_LEN);
		printf(" (of all but the last 32 bytes)\n");
		printf("  file:         sha256:");
		print_hex(stdout, file_sha, sizeof(file_sha));
		printf("\n");
	}
	if (tv) {
		size_t off = (size_t)((const u8 *)m->tv - um.blob) +
			     (size_t)failed * (m->input_len + m->output_len);

		fprintf(stderr,
			"mcaictl: %s: model rejected: test vector %u failed (at byte %zu)\n",
			path, failed, off);
	}
	user_model_free(&um);
	return tv ? EXIT_FAILURE : 0;
}

/* ---------------------------------------------------------------------- */
/* infer                                                                  */
/* ---------------------------------------------------------------------- */

/* What infer needs to know about a model, from the kernel or a blob. */
struct model_params {
	char name[MCAI_NAME_LEN];
	u32 version;
	u32 input_len, output_len;
	float input_scale;
	s8 input_zp;
	u8 head;
};

enum input_format { FMT_AUTO, FMT_RAW, FMT_IDX };

/* Samples ready for the model: count * input_len int8. */
struct samples {
	u8 *file;			/* the input file's contents */
	size_t file_len;
	s8 *data;			/* quantised images, or NULL: raw */
	const s8 *in;			/* the samples, data or the file's */
	u32 count;
	bool idx;
	u32 rows, cols;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * IDX3 is told by its magic; raw samples that happen to start with
 * 00 00 08 03 need --format raw.
 */
static bool looks_like_idx3(const u8 *b, size_t len)
{
	return len >= 16 && be32(b) == IDX_IMAGES_MAGIC;
}

static int read_samples(struct samples *s, const char *path,
			enum input_format fmt, const struct model_params *mp)
{
	const char *shown = strcmp(path, "-") ? path : "standard input";
	u32 i;
	size_t k, n;
	s8 lut[256];

	memset(s, 0, sizeof(*s));
	if (read_all(path, MAX_INPUT_FILE, &s->file, &s->file_len) ||
	    maybe_gunzip(shown, &s->file, &s->file_len))
		return 1;
	if (!s->file_len)
		return fail("%s: no input (empty)", shown);

	if (fmt == FMT_IDX || (fmt == FMT_AUTO &&
			       looks_like_idx3(s->file, s->file_len))) {
		unsigned long long pixels;

		if (s->file_len < 16 || be32(s->file) != IDX_IMAGES_MAGIC)
			return fail("%s: not an IDX3 image file (magic 0x%08x, "
				    "expected 0x%08x)", shown,
				    s->file_len >= 4 ? be32(s->file) : 0,
				    IDX_IMAGES_MAGIC);
		s->idx = true;
		s->rows = be32(s->file + 8);
		s->cols = be32(s->file + 12);
		pixels = (unsigned long long)s->rows * s->cols;
		if (pixels != mp->input_len)
			return fail("%s: images are %ux%u = %llu pixels, model %s "
				    "takes %u inputs", shown, s->rows, s->cols,
				    pixels, mp->name, mp->input_len);
		if (16ULL + (unsigned long long)be32(s->file + 4) * pixels !=
		    s->file_len)
			return fail("%s: IDX3 header says %u images of %ux%u, "
				    "but the file holds %zu bytes of data",
				    shown, be32(s->file + 4), s->rows, s->cols,
				    s->file_len - 16);
		s->count = be32(s->file + 4);
		if (!s->count)
			return fail("%s: no images", shown);
		if (!isfinite(mp->input_scale) || mp->input_scale <= 0)
			return fail("model %s has input scale %g: cannot "
				    "quantise images for it", mp->name,
				    mp->input_scale);
		for (i = 0; i < 256; i++)
			lut[i] = mcai_quantize((float)i / 255.0f,
					       mp->input_scale, mp->input_zp);
		n = (size_t)s->count * mp->input_len;
		s->data = malloc(n);
		if (!s->data)
			return fail("out of memory for %u images", s->count);
		for (k = 0; k < n; k++)
			s->data[k] = lut[s->file[16 + k]];
		s->in = s->data;
		return 0;
	}
	if (s->file_len % mp->input_len)
		return fail("%s: %zu bytes is not a whole number of samples: "
			    "model %s takes %u int8 inputs per sample", shown,
			    s->file_len, mp->name, mp->input_len);
	if (s->file_len / mp->input_len > UINT32_MAX)
		return fail("%s: too many samples", shown);
	s->count = (u32)(s->file_len / mp->input_len);
	s->in = (const s8 *)s->file;
	return 0;
}

static void samples_free(struct samples *s)
{
	free(s->file);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* An IDX1 label file for @count samples; *labels points into *file. */
static int read_labels(const char *path, u32 count, u8 **file,
		       const u8 **labels)
{
	size_t len;

	*labels = NULL;
	if (read_all(path, MAX_INPUT_FILE, file, &len) ||
	    maybe_gunzip(path, file, &len))
		return 1;
	if (len < 8 || be32(*file) != IDX_LABELS_MAGIC)
		return fail("%s: not an IDX1 label file (magic 0x%08x, expected "
			    "0x%08x)", path, len >= 4 ? be32(*file) : 0,
			    IDX_LABELS_MAGIC);
	if (8ULL + be32(*file + 4) != len)
		return fail("%s: header says %u labels, the file holds %zu",
			    path, be32(*file + 4), len - 8);
	if (be32(*file + 4) != count)
		return fail("%s: %u labels for %u samples", path,
			    be32(*file + 4), count);
	*labels = *file + 8;
	return 0;
}

static void print_scores(const s8 *scores, u32 n)
{
	for (u32 k = 0; k < n; k++)
		printf("%s%d", k ? " " : "", scores[k]);
}

static int infer_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "labels", required_argument, NULL, OPT_LABELS },
		{ "limit", required_argument, NULL, 'n' },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "model", required_argument, NULL, 'm' },
		{ "scores", no_argument, NULL, 's' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	const struct command *c = find_command("infer");
	const char *labels_path = NULL, *model_path = NULL, *input = "-";
	const char *engine = NULL;
	enum input_format fmt = FMT_AUTO;
	bool user, want_scores = false, quiet = false, many;
	struct model_params mp = { 0 };
	struct samples smp = { 0 };
	struct user_model um = { 0 };
	struct mcai_dev dev = { .fd = -1 };
	struct mcai_sel sel;
	u8 *label_file = NULL;
	const u8 *labels = NULL;
	s8 *scores = NULL;
	void *arena = NULL;
	u32 limit = UINT32_MAX, n, i, correct = 0, last_version = 0;
	bool version_changed = false;
	double elapsed = 0, t0;
	char err[160];
	int ch, ret = EXIT_FAILURE;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjn:m:sq", longopts)) != -1) {
		switch (ch) {
		case OPT_LABELS:
			labels_path = optarg;
			break;
		case 'n':
			if (parse_u32(optarg, &limit) || !limit)
				return usage_error(c, "--limit wants a number "
						   "of samples >= 1, not \"%s\"",
						   optarg);
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "kernel") && strcmp(optarg, "user"))
				return usage_error(c, "--engine is kernel or "
						   "user, not \"%s\"", optarg);
			engine = optarg;
			break;
		case 'm':
			model_path = optarg;
			break;
		case 's':
			want_scores = true;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "auto"))
				fmt = FMT_AUTO;
			else if (!strcmp(optarg, "raw"))
				fmt = FMT_RAW;
			else if (!strcmp(optarg, "idx"))
				fmt = FMT_IDX;
			else
				return usage_error(c, "--format is auto, raw or "
						   "idx, not \"%s\"", optarg);
			break;
		default:
			if (ch <= OPT_DONE_BASE)
				return OPT_DONE_BASE - ch;
		}
	}
	if (argc == optind)
		return usage_error(c, "no model name given");
	if (argc - optind > 2)
		return usage_error(c, "infer takes a model name and at most "
				   "one input file");
	if (mcai_sel_parse(&sel, argv[optind], err, sizeof(err)))
		return usage_error(c, "%s", err);
	if (argc - optind == 2)
		input = argv[optind + 1];
	user = engine ? !strcmp(engine, "user") : model_path != NULL;
	if (user && !model_path)
		return usage_error(c, "--engine user needs --model FILE");
	if (!user && model_path)
		return usage_error(c, "--model runs the user-space engine: it "
				   "does not go with --engine kernel");
	if (user && sel.id)
		return usage_error(c, "with --engine user, name the model (%s "
				   "selects a loaded model)", argv[optind]);

	/* The model's shape and quantisation. */
	if (user) {
		struct mcai_limits lim;

		mcai_limits_default(&lim);
		if (user_model_load(&um, model_path, &lim))
			goto out;
		if (!um.valid) {
			fail("%s: model rejected: %s (at byte %u)", model_path,
			     um.verdict.reason, um.verdict.offset);
			goto out;
		}
		if (strcmp(um.m.name, sel.name)) {
			fail("%s holds model %s, not %s", model_path, um.m.name,
			     sel.name);
			goto out;
		}
		memcpy(mp.name, um.m.name, MCAI_NAME_LEN);
		mp.version = um.m.version;
		mp.input_len = um.m.input_len;
		mp.output_len = um.m.output_len;
		mp.input_scale = float_bits(um.m.input_scale);
		mp.input_zp = um.m.input_zp;
		mp.head = um.m.head;
		/* 8-byte aligned: a v2 graph's tensors live in it */
		arena = aligned_alloc(8, um.m.arena_size + 8);
	} else {
		struct mcai_model_info mi;

		if (open_device(&dev))
			goto out;
		if (mcai_dev_model_info(&dev, sel, &mi)) {
			fail("%s", mcai_dev_error(&dev));
			goto out;
		}
		memcpy(mp.name, mi.ref.name, MCAI_NAME_LEN);
		mp.version = mi.version;
		mp.input_len = mi.input_len;
		mp.output_len = mi.output_len;
		mp.input_scale = float_bits(mi.input_scale);
		mp.input_zp = mi.input_zp;
		mp.head = mi.head;
		arena = malloc(1);
	}
	if (!mp.input_len || !mp.output_len) {
		fail("model %s reports %u inputs and %u outputs", mp.name,
		     mp.input_len, mp.output_len);
		goto out;
	}
	/* Zeroed: valgrind cannot know that INFER writes it. */
	scores = calloc(mp.output_len, 1);
	if (!scores || !arena) {
		fail("out of memory");
		goto out;
	}

	if (read_samples(&smp, input, fmt, &mp))
		goto out;
	if (labels_path &&
	    read_labels(labels_path, smp.count, &label_file, &labels))
		goto out;

	n = smp.count < limit ? smp.count : limit;
	many = n > 1;
	if (opt_json && many) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "model", mp.name);
		mcai_json_kv_string(&json, "engine", user ? "user" : "kernel");
		mcai_json_kv_string(&json, "input_format",
				    smp.idx ? "idx" : "raw");
		if (!quiet) {
			mcai_json_key(&json, "results");
			mcai_json_array_begin(&json);
		}
	} else if (!opt_json && !quiet) {
		printf("%6s %5s%s %6s%s\n", "INDEX", "CLASS",
		       labels ? " LABEL" : "", "SCORE",
		       want_scores ? "  SCORES" : "");
	}

	for (i = 0; i < n; i++) {
		const s8 *x = smp.in + (size_t)i * mp.input_len;
		u32 version;
		int cls;
		s8 top;

		if (user) {
			t0 = now();
			cls = mcai_model_run(&um.m, x, scores, arena);
			elapsed += now() - t0;
			version = mp.version;
		} else {
			struct mcai_infer_reply r;

			t0 = now();
			if (mcai_dev_infer(&dev, sel, x, mp.input_len, scores,
					   mp.output_len, &r)) {
				elapsed += now() - t0;
				if (opt_json)
					mcai_json_close_all(&json);
				fail("sample %u: %s", i, mcai_dev_error(&dev));
				goto out;
			}
			elapsed += now() - t0;
			cls = r.class_id;
			version = r.version;
			if (r.scores_len != mp.output_len) {
				fail("sample %u: model %s now has %u outputs "
				     "(was %u): it was replaced", i, mp.name,
				     r.scores_len, mp.output_len);
				goto out;
			}
		}
		if (i && version != last_version)
			version_changed = true;
		last_version = version;
		top = mp.head == MCAI_HEAD_THRESHOLD || cls < 0 ||
		      (u32)cls >= mp.output_len ? scores[0] : scores[cls];
		if (labels)
			correct += cls == labels[i];
		if (quiet)
			continue;
		if (opt_json) {
			mcai_json_object_begin(&json);
			if (!many) {
				mcai_json_kv_string(&json, "model", mp.name);
				mcai_json_kv_string(&json, "engine",
						    user ? "user" : "kernel");
			}
			mcai_json_kv_uint(&json, "index", i);
			mcai_json_kv_int(&json, "class", cls);
			if (labels)
				mcai_json_kv_uint(&json, "label", labels[i]);
			mcai_json_kv_int(&json, "score", top);
			mcai_json_kv_uint(&json, "version", version);
			if (want_scores || !many) {
				mcai_json_key(&json, "scores");
				mcai_json_array_begin_inline(&json);
				for (u32 k = 0; k < mp.output_len; k++)
					mcai_json_int(&json, scores[k]);
				mcai_json_array_end(&json);
			}
			mcai_json_object_end(&json);
			continue;
		}
		printf("%6u %5d", i, cls);
		if (labels)
			printf(" %5u", labels[i]);
		printf(" %6d", top);
		if (want_scores) {
			printf("  ");
			print_scores(scores, mp.output_len);
		}
		if (labels && cls != labels[i])
			printf("  miss");
		printf("\n");
	}

	if (opt_json) {
		if (many || quiet) {
			if (!many)
				mcai_json_object_begin(&json);
			else if (!quiet)
				mcai_json_array_end(&json);
			mcai_json_key(&json, "summary");
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "count", n);
			if (labels) {
				mcai_json_kv_uint(&json, "correct", correct);
				mcai_json_kv_double(&json, "accuracy",
						    (double)correct / n);
			}
			mcai_json_kv_uint(&json, "version", last_version);
			mcai_json_kv_bool(&json, "version_changed",
					  version_changed);
			mcai_json_kv_double(&json, "seconds", elapsed);
			mcai_json_kv_double(&json, "inferences_per_second",
					    elapsed > 0 ? n / elapsed : 0);
			mcai_json_object_end(&json);
			mcai_json_object_end(&json);
		}
	} else {
		printf("%u sample%s, %s %s version %u%s", n, n == 1 ? "" : "s",
		       user ? "user-space engine," : "kernel,", mp.name,
		       last_version, version_changed ? " (version changed)" : "");
		if (labels)
			printf(", accuracy %.2f%% (%u/%u)",
			       100.0 * correct / n, correct, n);
		if (elapsed > 0)
			printf(", %.0f inferences/s", n / elapsed);
		printf("\n");
	}
	ret = 0;
out:
	mcai_dev_close(&dev);
	user_model_free(&um);
	samples_free(&smp);
	free(label_file);
	free(scores);
	free(arena);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* pipeline                                                               */
/* ---------------------------------------------------------------------- */

static int parse_s32(const char *s, s32 *out)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || errno || *end || v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (s32)v;
	return 0;
}

/*
 * A pipeline lives as long as the file that created it, so this command
 * creates one and runs samples through it in the same process.
 */
static int pipeline_main(int argc, char **argv)
{
	enum { OPT_FIRE = 0x300, OPT_WEIGHTS, OPT_ESCALATE, OPT_INPUT };
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "fire-class", required_argument, NULL, OPT_FIRE },
		{ "weights", required_argument, NULL, OPT_WEIGHTS },
		{ "escalate-below", required_argument, NULL, OPT_ESCALATE },
		{ "input", required_argument, NULL, OPT_INPUT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	const struct command *c = find_command("pipeline");
	struct mcai_pipeline_create req;
	struct mcai_dev dev = { .fd = -1 };
	struct mcai_model_info mi[MCAI_PIPE_MAX_MODELS];
	struct model_params mp = { 0 };
	struct samples smp = { 0 };
	struct mcai_infer_reply r;
	const char *input = "-", *wlist = NULL;
	enum input_format fmt = FMT_AUTO;
	u32 n, i, flags, out_max = 0, gated = 0, escalated = 0;
	s32 fire = 0, esc = -129;
	bool quiet = false, fire_set = false;
	double t0, elapsed;
	s8 *scores = NULL;
	char err[160];
	int ch, ret = EXIT_FAILURE;

	memset(&req, 0, sizeof(req));
	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hjq", longopts)) != -1) {
		switch (ch) {
		case OPT_FIRE:
			if (parse_s32(optarg, &fire) || fire < 0)
				return usage_error(c, "bad --fire-class %s", optarg);
			fire_set = true;
			break;
		case OPT_WEIGHTS:
			wlist = optarg;
			break;
		case OPT_ESCALATE:
			if (parse_s32(optarg, &esc) || esc < -129 || esc > 128)
				return usage_error(c, "--escalate-below is -129..128, "
						   "not \"%s\"", optarg);
			break;
		case OPT_INPUT:
			input = optarg;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "auto"))
				fmt = FMT_AUTO;
			else if (!strcmp(optarg, "raw"))
				fmt = FMT_RAW;
			else if (!strcmp(optarg, "idx"))
				fmt = FMT_IDX;
			else
				return usage_error(c, "--format is auto, raw or "
						   "idx, not \"%s\"", optarg);
			break;
		case 'q':
			quiet = true;
			break;
		default:
			if (ch <= OPT_DONE_BASE)
				return OPT_DONE_BASE - ch;
		}
	}
	if (argc - optind < 3)
		return usage_error(c, "want a type and at least two models");
	if (!strcmp(argv[optind], "chain"))
		req.type = MCAI_PIPE_CHAIN;
	else if (!strcmp(argv[optind], "vote"))
		req.type = MCAI_PIPE_ENSEMBLE_VOTE;
	else if (!strcmp(argv[optind], "avg"))
		req.type = MCAI_PIPE_ENSEMBLE_AVG;
	else
		return usage_error(c, "type is chain, vote or avg, not \"%s\"",
				   argv[optind]);
	n = (u32)(argc - optind - 1);
	if (n > MCAI_PIPE_MAX_MODELS)
		return usage_error(c, "at most %d models", MCAI_PIPE_MAX_MODELS);
	if (req.type == MCAI_PIPE_CHAIN && n != 2)
		return usage_error(c, "a chain has two models");
	if (req.type == MCAI_PIPE_CHAIN && !fire_set)
		fire = 1;
	if (req.type != MCAI_PIPE_CHAIN && fire_set)
		return usage_error(c, "--fire-class is for chains");
	if (wlist && req.type != MCAI_PIPE_ENSEMBLE_AVG)
		return usage_error(c, "--weights is for avg");
	for (i = 0; wlist && *wlist; i++) {
		char *end;
		unsigned long w = strtoul(wlist, &end, 10);

		if (i >= n || end == wlist || w > 65535 ||
		    (*end && *end != ','))
			return usage_error(c, "--weights wants up to %u numbers "
					   "0..65535 (Q8: 256 = 1.0), comma "
					   "separated", n);
		req.weights[i] = (u16)w;
		wlist = *end ? end + 1 : end;
	}
	req.n_models = n;
	req.fire_class = fire;
	req.escalate_below = esc;
	snprintf(req.name, sizeof(req.name), "mcaictl-%ld", (long)getpid());

	if (open_device(&dev))
		return EXIT_FAILURE;
	for (i = 0; i < n; i++) {
		struct mcai_sel sel;

		if (mcai_sel_parse(&sel, argv[optind + 1 + i], err, sizeof(err))) {
			ret = usage_error(c, "%s", err);
			goto out;
		}
		if (mcai_dev_model_info(&dev, sel, &mi[i])) {
			fail("%s", mcai_dev_error(&dev));
			goto out;
		}
		req.model_ids[i] = mi[i].ref.model_id;
		if (mi[i].output_len > out_max)
			out_max = mi[i].output_len;
	}
	if (mcai_dev_pipeline_create(&dev, &req)) {
		fail("%s", mcai_dev_error(&dev));
		goto out;
	}
	memcpy(mp.name, mi[0].ref.name, MCAI_NAME_LEN);
	mp.version = mi[0].version;
	mp.input_len = mi[0].input_len;
	mp.output_len = mi[0].output_len;
	mp.input_scale = float_bits(mi[0].input_scale);
	mp.input_zp = mi[0].input_zp;
	mp.head = mi[0].head;
	if (read_samples(&smp, input, fmt, &mp))
		goto out;
	scores = malloc(out_max);
	if (!scores) {
		fail("out of memory");
		goto out;
	}
	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_string(&json, "type", argv[optind]);
		mcai_json_kv_uint(&json, "pipeline_id", req.pipeline_id);
		mcai_json_key(&json, "results");
		mcai_json_array_begin(&json);
	}
	t0 = now();
	for (i = 0; i < smp.count; i++) {
		struct mcai_sel psel = { .id = req.pipeline_id };

		if (mcai_dev_infer_pipeline(&dev, psel,
					    smp.in + (size_t)i * mp.input_len,
					    mp.input_len, scores, out_max, &r,
					    &flags)) {
			if (opt_json)
				mcai_json_close_all(&json);
			fail("sample %u: %s", i, mcai_dev_error(&dev));
			goto out;
		}
		gated += !!(flags & MCAI_RES_GATED);
		escalated += !!(flags & MCAI_RES_ESCALATE);
		if (quiet)
			continue;
		if (opt_json) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "index", i);
			mcai_json_kv_int(&json, "class", r.class_id);
			mcai_json_kv_bool(&json, "gated", flags & MCAI_RES_GATED);
			mcai_json_kv_bool(&json, "escalate",
					  flags & MCAI_RES_ESCALATE);
			mcai_json_object_end(&json);
		} else {
			printf("%u\tclass %d%s%s\n", i, r.class_id,
			       flags & MCAI_RES_GATED ? "\tgated" : "",
			       flags & MCAI_RES_ESCALATE ? "\tescalate" : "");
		}
	}
	elapsed = now() - t0;
	if (opt_json) {
		mcai_json_array_end(&json);
		mcai_json_kv_uint(&json, "samples", smp.count);
		mcai_json_kv_uint(&json, "gated", gated);
		mcai_json_kv_uint(&json, "escalated", escalated);
		mcai_json_kv_double(&json, "per_second",
				    elapsed > 0 ? smp.count / elapsed : 0);
		mcai_json_object_end(&json);
	} else {
		printf("%u samples, %u gated (stage-2 runs saved), %u escalated, "
		       "%.0f/s\n", smp.count, gated, escalated,
		       elapsed > 0 ? smp.count / elapsed : 0.0);
	}
	ret = 0;
out:
	free(scores);
	samples_free(&smp);
	mcai_dev_close(&dev);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* stats                                                                  */
/* ---------------------------------------------------------------------- */

#define STATS_DEFAULT_FEATURES	8
#define STATS_SATURATED	120.0	/* |mean| this close to the int8 rails */
#define STATS_DOMINANT		0.9	/* one class this often: suspicious */

static double q16(double v)
{
	return v / 65536.0;
}

/*
 * Hints from one snapshot (no baseline needed): inputs that stopped
 * moving, inputs stuck at a rail, one class taking everything.  They say
 * where to look, not that the model drifted.
 */
struct stats_hints {
	u32 constant;
	u32 saturated;
	int dominant;			/* class, or -1 */
	double dominant_share;
};

static void stats_hints(const struct mcai_stats_reply *r,
			struct stats_hints *h)
{
	u32 i;

	memset(h, 0, sizeof(*h));
	h->dominant = -1;
	if (!r->samples)
		return;
	for (i = 0; i < r->n_features; i++) {
		if (r->samples > 1 && !r->var[i])
			h->constant++;
		if (fabs(q16(r->mean[i])) >= STATS_SATURATED)
			h->saturated++;
	}
	for (i = 0; i < r->n_classes; i++) {
		double share = (double)r->hist[i] / (double)r->samples;

		if (share >= STATS_DOMINANT && r->n_classes > 1) {
			h->dominant = (int)i;
			h->dominant_share = share;
		}
	}
}

/* The budget's energy figure: MCAI_ENERGY_* of uapi/mcai.h. */
static const char *energy_source_name(u32 src)
{
	switch (src) {
	case MCAI_ENERGY_ESTIMATE:
		return "estimate";
	case MCAI_ENERGY_MODEL:
		return "model";
	case MCAI_ENERGY_RAPL_CALIBRATED:
		return "rapl-calibrated";
	}
	return "unknown";
}

/*
 * The statistics as a drift baseline (runtime/fed/drift.h), taken while
 * the model sees data like its training data; written atomically.
 */
static int write_baseline(const char *path, const struct mcai_stats_reply *r)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f;
	u32 i;
	int ret = 0;

	if (!r->samples)
		return fail("--baseline-out: no samples yet to take a baseline from");
	f = open_memstream(&buf, &len);
	if (!f)
		return fail("--baseline-out: %s", strerror(errno));
	fprintf(f, "mcai-drift-baseline 1\nfeatures %u\n", r->n_features);
	for (i = 0; i < r->n_features; i++)
		fprintf(f, "%.6f %.6f\n", q16(r->mean[i]), q16(r->var[i]));
	if (fclose(f))
		ret = fail("--baseline-out: %s", strerror(errno));
	else if (mcai_atomic_write(path, buf, len, 0644, err, sizeof(err)))
		ret = fail("--baseline-out: %s", err);
	free(buf);
	return ret;
}

static int stats_main(int argc, char **argv)
{
	enum { OPT_FEATURES = 0x200, OPT_RESET, OPT_BASELINE_OUT };
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "features", required_argument, NULL, OPT_FEATURES },
		{ "reset", no_argument, NULL, OPT_RESET },
		{ "baseline-out", required_argument, NULL, OPT_BASELINE_OUT },
		{ 0 }
	};
	const struct command *c = find_command("stats");
	struct mcai_stats_reply r;
	struct mcai_model_info mi;
	struct stats_hints h;
	struct mcai_dev dev;
	struct mcai_sel sel;
	double sum_mean = 0, sum_sd = 0, min_sd = 0, max_sd = 0;
	u32 nshow = UINT32_MAX, i;
	bool reset = false, nshow_set = false;
	const char *baseline_out = NULL;
	char err[160];
	int ch;

	reset_getopt();
	while ((ch = next_option(c, argc, argv, ":hj", longopts)) != -1) {
		if (ch <= OPT_DONE_BASE)
			return OPT_DONE_BASE - ch;
		if (ch == OPT_FEATURES) {
			nshow_set = true;
			if (!strcmp(optarg, "all"))
				nshow = UINT32_MAX;
			else if (parse_u32(optarg, &nshow))
				return usage_error(c, "bad --features %s",
						   optarg);
		} else if (ch == OPT_RESET) {
			reset = true;
		} else if (ch == OPT_BASELINE_OUT) {
			baseline_out = optarg;
		}
	}
	if (argc - optind != 1)
		return usage_error(c, argc == optind ? "no model name given" :
					"stats takes one model name");
	if (mcai_sel_parse(&sel, argv[optind], err, sizeof(err)))
		return usage_error(c, "%s", err);
	/* Text lists the first few unless told; JSON all unless told. */
	if (!nshow_set && !opt_json)
		nshow = STATS_DEFAULT_FEATURES;

	if (open_device(&dev))
		return EXIT_FAILURE;
	if (mcai_dev_model_info(&dev, sel, &mi) ||
	    mcai_dev_model_stats(&dev, sel, reset, &r)) {
		fail("%s", mcai_dev_error(&dev));
		mcai_dev_close(&dev);
		return EXIT_FAILURE;
	}
	mcai_dev_close(&dev);
	if (baseline_out && write_baseline(baseline_out, &r)) {
		mcai_stats_reply_free(&r);
		return EXIT_FAILURE;
	}

	for (i = 0; i < r.n_features; i++) {
		double sd = sqrt(q16(r.var[i]));

		sum_mean += q16(r.mean[i]);
		sum_sd += sd;
		if (!i || sd < min_sd)
			min_sd = sd;
		if (!i || sd > max_sd)
			max_sd = sd;
	}
	if (r.n_features) {
		sum_mean /= r.n_features;
		sum_sd /= r.n_features;
	}
	if (nshow > r.n_features)
		nshow = r.n_features;
	stats_hints(&r, &h);

	if (opt_json) {
		mcai_json_object_begin(&json);
		mcai_json_kv_uint(&json, "id", mi.ref.model_id);
		mcai_json_kv_string(&json, "name", mi.ref.name);
		mcai_json_kv_uint(&json, "version", mi.version);
		mcai_json_kv_uint(&json, "samples", r.samples);
		mcai_json_kv_bool(&json, "reset", reset);
		mcai_json_key(&json, "classes");
		mcai_json_array_begin(&json);
		for (i = 0; i < r.n_classes; i++) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "class", i);
			mcai_json_kv_uint(&json, "count", r.hist[i]);
			mcai_json_kv_double(&json, "share", r.samples ?
				(double)r.hist[i] / (double)r.samples : 0);
			mcai_json_object_end(&json);
		}
		mcai_json_array_end(&json);
		mcai_json_kv_uint(&json, "n_features", r.n_features);
		mcai_json_kv_double(&json, "mean_of_means", sum_mean);
		mcai_json_kv_double(&json, "mean_of_stddevs", sum_sd);
		mcai_json_kv_double(&json, "min_stddev", min_sd);
		mcai_json_kv_double(&json, "max_stddev", max_sd);
		mcai_json_key(&json, "features");
		mcai_json_array_begin(&json);
		for (i = 0; i < nshow; i++) {
			mcai_json_object_begin(&json);
			mcai_json_kv_uint(&json, "index", i);
			mcai_json_kv_int(&json, "mean_q16", r.mean[i]);
			mcai_json_kv_uint(&json, "var_q16", r.var[i]);
			mcai_json_kv_double(&json, "mean", q16(r.mean[i]));
			mcai_json_kv_double(&json, "stddev",
					    sqrt(q16(r.var[i])));
			mcai_json_object_end(&json);
		}
		mcai_json_array_end(&json);
		mcai_json_key(&json, "hints");
		mcai_json_object_begin(&json);
		mcai_json_kv_uint(&json, "constant_features", h.constant);
		mcai_json_kv_uint(&json, "saturated_features", h.saturated);
		mcai_json_kv_int(&json, "dominant_class", h.dominant);
		mcai_json_object_end(&json);
		mcai_json_key(&json, "scheduler");
		mcai_json_object_begin(&json);
		mcai_json_kv_uint(&json, "shed", r.shed);
		mcai_json_kv_uint(&json, "deadline_misses", r.deadline_misses);
		mcai_json_kv_uint(&json, "energy_uj", r.energy_uj);
		mcai_json_kv_string(&json, "energy_source",
				    energy_source_name(r.energy_source));
		mcai_json_kv_uint(&json, "mpj_per_mac", r.mpj_per_mac);
		mcai_json_object_end(&json);
		mcai_json_object_end(&json);
		mcai_stats_reply_free(&r);
		return 0;
	}

	printf("model %s (id %u, version %u): %llu samples%s\n", mi.ref.name,
	       mi.ref.model_id, mi.version, (unsigned long long)r.samples,
	       reset ? " (now reset)" : "");
	printf("classes:\n");
	for (i = 0; i < r.n_classes; i++)
		printf("  %5u %12llu  %5.1f%%\n", i,
		       (unsigned long long)r.hist[i], r.samples ?
		       100.0 * (double)r.hist[i] / (double)r.samples : 0.0);
	printf("features: %u (quantised input units; real = %g * (q - %d))\n",
	       r.n_features, float_bits(mi.input_scale), mi.input_zp);
	for (i = 0; i < nshow; i++)
		printf("  [%4u] mean %9.3f  stddev %8.3f\n", i, q16(r.mean[i]),
		       sqrt(q16(r.var[i])));
	if (nshow < r.n_features)
		printf("  ... %u more (--features N or --features all)\n",
		       r.n_features - nshow);
	printf("  all:   mean of means %.3f, mean stddev %.3f (min %.3f, max %.3f)\n",
	       sum_mean, sum_sd, min_sd, max_sd);
	printf("scheduler: shed %llu, deadline misses %llu, energy %llu uJ "
	       "(%.3f pJ per MAC, %s)\n",
	       (unsigned long long)r.shed,
	       (unsigned long long)r.deadline_misses,
	       (unsigned long long)r.energy_uj, (double)r.mpj_per_mac / 1000,
	       energy_source_name(r.energy_source));
	printf("drift hint: ");
	if (!r.samples)
		printf("no samples yet\n");
	else if (!h.constant && !h.saturated && h.dominant < 0)
		printf("nothing unusual in this snapshot; compare with a "
		       "baseline (--json) taken when the model was known good\n");
	else {
		if (h.constant)
			printf("%u features never change (dead sensor "
			       "channel?) ", h.constant);
		if (h.saturated)
			printf("%u features sit at the int8 rails (input "
			       "scale too small?) ", h.saturated);
		if (h.dominant >= 0)
			printf("class %d takes %.1f%% of the results ",
			       h.dominant, 100.0 * h.dominant_share);
		printf("\n");
	}
	mcai_stats_reply_free(&r);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* help and the command table                                             */
/* ---------------------------------------------------------------------- */

static int help_main(int argc, char **argv);

static const struct command commands[] = {
	{ "info", info_main, "",
	  "Show the module's ABI version, features, limits and model count", "" },
	{ "load", load_main, "[--force] [--no-verify] FILE",
	  "Load a model blob, or replace the loaded version of its name",
	  "The blob is verified in user space first (the kernel's own verifier\n"
	  "and test vectors), so a bad file is explained even without the module.\n"
	  "A newer version of a loaded name replaces it atomically, keeping its id.\n"
	  "\n"
	  "  -f, --force      allow replacing a newer version by an older one\n"
	  "      --no-verify  send the blob to the kernel unchecked (module tests)\n"
	  "Loading needs CAP_SYS_ADMIN.\n" },
	{ "list", list_main, "",
	  "List the loaded models",
	  "One line per model: id, name, version, layers, inputs->outputs,\n"
	  "multiply-accumulates per inference, inferences run, and the first\n"
	  "bytes of the blob's SHA-256 digest.\n" },
	{ "attach", attach_main,
	  "iio:deviceN --model NAME [--channels I,J,..] [--window N] [--stride N] [--shift N]",
	  "Feed an IIO device's samples to a model, inside the kernel",
	  "Inserts a buffer of mcai_iio.ko (modprobe mcai_iio) into the device's\n"
	  "buffers: each scan's channels (scan indices, default all but the\n"
	  "timestamp) become int8 values (value >> shift, saturated); every\n"
	  "stride scans (default window) the last window scans (default 1) go to\n"
	  "the model, window x channels inputs, scan after scan.  The model\n"
	  "need not be loaded yet (the attachment waits for it); one whose\n"
	  "input_len differs is refused.  Needs root.  The attachments are listed\n"
	  "in /sys/module/mcai_iio/parameters/list and by mcaictl list\n"
	  "(driver mcai_iio).\n" },
	{ "detach", detach_main, "ID|all",
	  "Remove an IIO attachment (mcaictl attach)",
	  "ID is the first field of /sys/module/mcai_iio/parameters/list.\n" },
	{ "show", show_main, "NAME",
	  "Show everything the module reports about one model",
	  "NAME is a model name, or id:N for the model with id N.\n" },
	{ "infer", infer_main,
	  "[OPTIONS] NAME [INPUT_FILE]",
	  "Classify samples with a loaded model (or a blob, in user space)",
	  "INPUT_FILE (standard input when absent or \"-\") is either raw int8\n"
	  "samples, input_len bytes each, back to back, or an IDX3 image file\n"
	  "(MNIST-style, gzip-compressed or not, detected by content) whose uint8\n"
	  "pixels are quantised to the model's input: q = round(p/255/scale) + zp.\n"
	  "Prints, per sample, its index, class, label and top score, then the\n"
	  "number of samples, the accuracy (with --labels) and inferences/s.\n"
	  "\n"
	  "  --labels FILE     IDX1 label file for the images: report accuracy\n"
	  "  -n, --limit N     classify at most the first N samples\n"
	  "  --engine ENGINE   kernel (default) or user: the user-space engine\n"
	  "  -m, --model FILE  the blob the user engine runs (implies --engine user)\n"
	  "  -s, --scores      print every score, not just the top one\n"
	  "  --format FORMAT   auto (default), raw or idx\n"
	  "  -q, --quiet       only the summary\n"
	  "NAME is a model name, or id:N for the loaded model with id N.\n"
	  "With --json: one object for one sample, else an object holding an\n"
	  "array of results and a summary.\n" },
	{ "infer-dmabuf", infer_dmabuf_main,
	  "[--offset N] [--stride N] [--frames N] NAME FILE | --fd FD NAME",
	  "Classify frames held in a dma-buf, by the kernel",
	  "FILE (raw int8 frames, input_len bytes each) is put in a sealed memfd\n"
	  "and exported as a dma-buf by /dev/udmabuf; with --fd, FD is a dma-buf\n"
	  "this command inherited (from a camera or ADC pipeline).  Frame i is at\n"
	  "--offset + i x --stride bytes (stride 0: input_len; less gives\n"
	  "overlapping windows); --frames defaults to what FILE holds, at most 256.\n"
	  "Prints each frame's index, class and top score (MCAI_IOC_INFER_DMABUF).\n" },
	{ "pipeline", pipeline_main,
	  "[OPTIONS] chain|vote|avg MODEL MODEL... [--input FILE]",
	  "Run samples through a chain or ensemble of loaded models",
	  "Creates the pipeline in the kernel (it lives as long as this command)\n"
	  "and runs every sample of FILE (standard input by default; raw int8 or\n"
	  "IDX3, as for infer) through it.  Prints, per sample, the class and the\n"
	  "flags (gated: a chain stopped at stage 1; escalate: the collective is\n"
	  "unsure), then how many stage-2 runs the gate saved.\n"
	  "\n"
	  "  --fire-class N        chain: stage 2 runs when stage 1 says N (1)\n"
	  "  --weights W,W,...     avg: Q8 weights, 256 = 1.0 (default: equal)\n"
	  "  --escalate-below S    flag results whose winning score is < S\n"
	  "  --input FILE          the samples\n"
	  "  --format FORMAT       auto (default), raw or idx\n"
	  "  -q, --quiet           only the summary\n"
	  "MODEL is a model name, or id:N.\n" },
	{ "stats", stats_main,
	  "[--features N|all] [--reset] [--baseline-out FILE] NAME",
	  "Show a model's drift statistics: inputs and classes seen",
	  "Since the name was loaded (or last reset): samples, the class\n"
	  "histogram with shares, per input feature the mean and standard\n"
	  "deviation in quantised units (first 8 unless --features; all with\n"
	  "--json), their averages, the scheduler's counters, and a hint at\n"
	  "what looks unusual (constant or saturated inputs, one class taking\n"
	  "90% or more).\n"
	  "\n"
	  "  --features N  list the first N features (\"all\": every one)\n"
	  "  --reset       clear the statistics after reading (CAP_SYS_ADMIN)\n"
	  "  --baseline-out FILE  write them as a drift baseline (mcaid's\n"
	  "                drift.baseline, mcaictl metrics --baseline): take it\n"
	  "                while the model sees data like its training data\n"
	  "NAME is a model name, or id:N.\n" },
	{ "telemetry", telemetry_main,
	  "[enable|disable|status|show|hist NAME|calibrate|feed] [OPTIONS]",
	  "eBPF telemetry: latency, CPU time and energy of every inference",
	  telemetry_details },
	{ "top", top_main, "[-i SECONDS] [-n COUNT] [--feed]",
	  "Live view of every model: rate, latency, energy per inference",
	  top_details },
	{ "metrics", metrics_main, "[-o FILE] [--baseline DIR]",
	  "Print the module's and the telemetry's figures for Prometheus",
	  metrics_details },
	{ "fleet", fleet_main, "[-s DIR]",
	  "The federation's nodes, as the aggregator sees them (status.json)",
	  fleet_details },
	{ "rounds", rounds_main, "[-s DIR]",
	  "The aggregator's round history with accuracy per round",
	  rounds_details },
	{ "mirror", mirror_main, "[-s DIR] [-n N]",
	  "Drain the module's sample mirror into the labelled sample store",
	  mirror_details },
	{ "label", label_main, "[-s DIR] ID CLASS | [-s DIR] --file FILE",
	  "Label mirrored samples for local training",
	  label_details },
	{ "samples", samples_main, "[-s DIR] [--labelled] [--json [--inputs]]",
	  "List the sample store: predictions and labels",
	  samples_details },
	{ "unload", unload_main, "NAME",
	  "Unload a model (in-flight inferences finish first)",
	  "NAME is a model name, or id:N.  Unloading needs CAP_SYS_ADMIN.\n" },
	{ "inspect", inspect_main, "FILE",
	  "Verify a model blob in user space and describe it (no module needed)",
	  "Prints the header, the layers, MACs, the test vectors' result and the\n"
	  "digest.  Exits 1 when the kernel would refuse the blob, saying why.\n" },
	{ "verify", verify_main,
	  "[--manifest M] [--trust PATH] [--history DIR] [--name NAME] FILE",
	  "Check a model's signed manifest: signer, signature, digest, chain",
	  verify_details },
	{ "accept", accept_main,
	  "[--manifest M] [--trust PATH] [--dir DIR] [--name NAME] FILE",
	  "Verify a version as a node installs it and record it in the history",
	  accept_details },
	{ "history", history_main, "[--dir DIR] [--trust PATH] NAME",
	  "Show the chain of versions a node accepted for a model",
	  history_details },
	{ "sign", sign_main, "--key KEY --version N [OPTIONS] FILE",
	  "Write the signed manifest of a model blob (as the aggregator does)",
	  sign_details },
	{ "keygen", keygen_main, "DIR",
	  "Make an Ed25519 signing key pair for publishing models",
	  keygen_details },
	{ "import", import_main,
	  "MODEL.onnx -o OUT.mcai [--name N] [--version V] [--calibrate FILE]... [--per-tensor]",
	  "Import an ONNX model into a blob (QDQ, QOperator, float + calibration)",
	  import_details },
	{ "run", run_main,
	  "BLOB.mcai --input IN.pb|IN.npy... --output OUT.pb|OUT.npy... [--device]",
	  "Run a blob on .npy or TensorProto inputs, write its outputs alike",
	  run_details },
	{ "help", help_main, "[COMMAND]",
	  "Show the usage of mcaictl or of one command", "" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void main_usage(FILE *f)
{
	fprintf(f,
		"Usage: mcaictl [-d DEVICE] [--json] COMMAND [ARGUMENTS]\n"
		"\n"
		"Manage and run mcai models through the mcai kernel module.\n"
		"\n"
		"Options:\n"
		"  -d, --device DEVICE  the mcai device (default $%s, else %s)\n"
		"  -j, --json           machine-readable output on stdout\n"
		"  -h, --help           this text\n"
		"  -V, --version        the program and ABI versions\n"
		"\n"
		"Commands:\n", MCAI_DEVICE_ENV, MCAI_DEVICE_DEFAULT);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const char *s = commands[i].summary;

		fprintf(f, "  %-8s %s\n", commands[i].name, s);
	}
	fprintf(f,
		"\n"
		"'mcaictl help COMMAND' or 'mcaictl COMMAND --help' shows a "
		"command's usage.\n"
		"Exit status: 0 success, 1 the operation failed, 2 usage error.\n");
}

static int help_main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		main_usage(stdout);
		return 0;
	}
	if (argc > 2)
		return usage_error(find_command("help"),
				   "help takes one command name");
	c = find_command(argv[1]);
	if (!c)
		return usage_error(NULL, "no command \"%s\"", argv[1]);
	command_help(stdout, c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const struct command *c;
	int ch;

	/* The engine's SIMD path in user space (inspect, run): $MCAI_SIMD. */
	if (mcai_simd_select(getenv("MCAI_SIMD")))
		warn("MCAI_SIMD=%s: %s; using %s", getenv("MCAI_SIMD"),
		     mcai_simd_parse(getenv("MCAI_SIMD")) < 0 ?
		     "no such path (auto, off, avx2, avx512vnni, avxvnni, "
		     "neon, dotprod)" : "this CPU does not have it",
		     mcai_simd_name(mcai_simd_active()));
	opterr = 0;
	/* '+': options of mcaictl itself stop at the command. */
	while ((ch = getopt_long(argc, argv, "+:d:jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (!*optarg)
				return usage_error(NULL, "empty device path");
			opt_device = optarg;
			break;
		case 'j':
			opt_json = true;
			break;
		case 'h':
			main_usage(stdout);
			return finish_output(0);
		case 'V':
			printf("mcaictl %s (mcai ABI %d, blob format %d)\n",
			       MCAICTL_VERSION, MCAI_ABI_VERSION,
			       MCAI_BLOB_VERSION);
			return finish_output(0);
		case ':':
			return usage_error(NULL, "option %s needs an argument",
					   argv[optind - 1]);
		default:
			if (optopt)
				return usage_error(NULL, "unknown option -%c",
						   optopt);
			return usage_error(NULL, "unknown option %s",
					   argv[optind - 1]);
		}
	}
	if (optind == argc) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	c = find_command(argv[optind]);
	if (!c)
		return usage_error(NULL, "no command \"%s\"", argv[optind]);
	mcai_json_init(&json, stdout, 2);
	return finish_output(c->fn(argc - optind, argv + optind));
}
