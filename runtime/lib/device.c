// SPDX-License-Identifier: GPL-2.0
/*
 * The library over /dev/mcai.  See device.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/lib/device.h"

static const char *const mcai_features[] = {
	"sync-infer",		/* MCAI_FEAT_SYNC_INFER */
	"hot-swap",		/* MCAI_FEAT_HOT_SWAP */
	"test-vectors",		/* MCAI_FEAT_TEST_VECTORS */
	"sessions",		/* MCAI_FEAT_SESSIONS */
	"policy",		/* MCAI_FEAT_POLICY */
	"pipelines",		/* MCAI_FEAT_PIPELINES */
	"stats",		/* MCAI_FEAT_STATS */
	"tracepoints",		/* MCAI_FEAT_TRACEPOINTS */
	"energy-feed",		/* MCAI_FEAT_ENERGY_FEED */
	"signed",		/* MCAI_FEAT_SIGNED */
	"mirror",		/* MCAI_FEAT_MIRROR */
	"attach-list",		/* MCAI_FEAT_ATTACH_LIST */
	"dmabuf",		/* MCAI_FEAT_DMABUF */
};

const char *mcai_feature_name(unsigned int bit)
{
	if (bit < sizeof(mcai_features) / sizeof(mcai_features[0]))
		return mcai_features[bit];
	return NULL;
}

__attribute__((format(printf, 3, 4)))
static int mcai_dev_fail(struct mcai_dev *d, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return -err;
}

/* Failures any request can meet; @what names the request. */
static int mcai_dev_fail_common(struct mcai_dev *d, int err, const char *what,
				size_t struct_size)
{
	switch (err) {
	case ENOTTY:
	case EOPNOTSUPP:
		return mcai_dev_fail(d, err,
			"%s does not understand %s: it is not the mcai device, "
			"or the kernel module is too old for this program",
			d->path, what);
	case E2BIG:
		return mcai_dev_fail(d, err,
			"kernel module too old: it refused %s with a %zu-byte "
			"structure (ABI version %d)",
			what, struct_size, MCAI_ABI_VERSION);
	case EFAULT:
		return mcai_dev_fail(d, err,
			"%s: the kernel could not access a buffer (bug in this "
			"program)", what);
	case ENOMEM:
		return mcai_dev_fail(d, err, "%s: the kernel is out of memory",
				     what);
	case EINTR:
		return mcai_dev_fail(d, err, "%s: interrupted", what);
	case EBADF:
		return mcai_dev_fail(d, err, "%s: the device is not open", what);
	}
	return mcai_dev_fail(d, err, "%s: %s", what, strerror(err));
}

const char *mcai_dev_path(const char *path)
{
	const char *env;

	if (path && *path)
		return path;
	env = getenv(MCAI_DEVICE_ENV);
	if (env && *env)
		return env;
	return MCAI_DEVICE_DEFAULT;
}

int mcai_dev_open(struct mcai_dev *d, const char *path)
{
	struct stat st;
	int err;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	path = mcai_dev_path(path);
	snprintf(d->path, sizeof(d->path), "%s", path);

	d->fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0) {
		err = errno;
		switch (err) {
		case ENOENT:
			return mcai_dev_fail(d, err,
				"%s not found: is the mcai module loaded? "
				"(modprobe mcai)", path);
		case EACCES:
		case EPERM:
			return mcai_dev_fail(d, err,
				"cannot open %s: permission denied (it needs "
				"read-write access)", path);
		case ENXIO:
		case ENODEV:
			return mcai_dev_fail(d, err,
				"%s has no driver behind it: is the mcai module "
				"loaded? (modprobe mcai)", path);
		}
		return mcai_dev_fail(d, err, "cannot open %s: %s", path,
				     strerror(err));
	}
	if (fstat(d->fd, &st) == 0 && !S_ISCHR(st.st_mode)) {
		close(d->fd);
		d->fd = -1;
		return mcai_dev_fail(d, ENOTTY,
				     "%s is not a character device (not mcai)",
				     path);
	}
	return 0;
}

void mcai_dev_close(struct mcai_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

const char *mcai_dev_error(const struct mcai_dev *d)
{
	return d->msg[0] ? d->msg : "no error";
}

static int mcai_dev_ioctl(struct mcai_dev *d, unsigned long cmd, void *arg)
{
	if (d->fd < 0)
		return -EBADF;
	if (ioctl(d->fd, cmd, arg) < 0)
		return -errno;
	return 0;
}

int mcai_dev_get_info(struct mcai_dev *d, struct mcai_info *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	ret = mcai_dev_ioctl(d, MCAI_IOC_GET_INFO, info);
	if (ret == -EINVAL)
		return mcai_dev_fail(d, EINVAL,
			"the kernel refused GET_INFO: %s speaks a different mcai "
			"ABI than this program (version %d)", d->path,
			MCAI_ABI_VERSION);
	if (ret)
		return mcai_dev_fail_common(d, -ret, "GET_INFO", sizeof(*info));
	return 0;
}

bool mcai_name_valid(const char *name)
{
	size_t n = 0;

	for (; name[n]; n++) {
		char c = name[n];

		if (n >= MCAI_NAME_LEN - 1)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return n > 0;
}

int mcai_sel_parse(struct mcai_sel *sel, const char *arg, char *err,
		   size_t errlen)
{
	sel->id = 0;
	sel->name = NULL;
	if (!strncmp(arg, "id:", 3)) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(arg + 3, &end, 10);
		if (arg[3] < '0' || arg[3] > '9' || *end || errno || !v ||
		    v > UINT32_MAX) {
			snprintf(err, errlen,
				 "bad model id \"%s\": id:N wants N in 1..%u",
				 arg, UINT32_MAX);
			return -1;
		}
		sel->id = (u32)v;
		return 0;
	}
	if (!mcai_name_valid(arg)) {
		snprintf(err, errlen,
			 "bad model name \"%s\": names are 1..%d characters of "
			 "A-Z a-z 0-9 _ . -", arg, MCAI_NAME_LEN - 1);
		return -1;
	}
	sel->name = arg;
	return 0;
}

const char *mcai_sel_str(struct mcai_sel sel, char *buf, size_t len)
{
	if (sel.id)
		snprintf(buf, len, "model id %u", sel.id);
	else
		snprintf(buf, len, "model %s", sel.name ? sel.name : "?");
	return buf;
}

/* Fill @ref; -EINVAL with a message when the selector is unusable. */
static int mcai_dev_ref(struct mcai_dev *d, struct mcai_sel sel,
			struct mcai_model_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	if (sel.id) {
		ref->model_id = sel.id;
		return 0;
	}
	if (!sel.name || !mcai_name_valid(sel.name))
		return mcai_dev_fail(d, EINVAL,
			"bad model name \"%s\": names are 1..%d characters of "
			"A-Z a-z 0-9 _ . -", sel.name ? sel.name : "",
			MCAI_NAME_LEN - 1);
	memcpy(ref->name, sel.name, strlen(sel.name));
	return 0;
}

static int mcai_dev_no_model(struct mcai_dev *d, struct mcai_sel sel)
{
	if (sel.id)
		return mcai_dev_fail(d, ENOENT, "no model with id %u", sel.id);
	return mcai_dev_fail(d, ENOENT, "no model named %s", sel.name);
}

/* Name and version from a blob header the kernel has accepted as one. */
static void mcai_blob_ident(const void *blob, u32 size, char *name,
			    u32 *version)
{
	const u8 *b = blob;

	name[0] = '\0';
	*version = 0;
	if (size < sizeof(struct mcai_blob_header))
		return;
	memcpy(name, b + offsetof(struct mcai_blob_header, name),
	       MCAI_NAME_LEN);
	name[MCAI_NAME_LEN - 1] = '\0';
	*version = mcai_le32(b + offsetof(struct mcai_blob_header,
					  model_version));
}

int mcai_dev_load(struct mcai_dev *d, const void *blob, u32 size, u32 flags,
		  struct mcai_load_reply *r)
{
	struct mcai_model_load req;
	char name[MCAI_NAME_LEN];
	u32 version;
	int ret, err;

	memset(r, 0, sizeof(*r));
	if (flags & ~MCAI_LOAD_FLAGS_ALL)
		return mcai_dev_fail(d, EINVAL, "unknown load flags 0x%x",
				     flags & ~MCAI_LOAD_FLAGS_ALL);
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = flags;
	req.blob_ptr = (u64)(uintptr_t)blob;
	req.blob_size = size;
	ret = mcai_dev_ioctl(d, MCAI_IOC_MODEL_LOAD, &req);

	/* The kernel copies the structure back on refusals too. */
	req.reason[sizeof(req.reason) - 1] = '\0';
	r->model_id = req.model_id;
	r->version = req.version;
	r->replaced_version = req.replaced_version;
	r->err_offset = req.err_offset;
	memcpy(r->reason, req.reason, sizeof(r->reason));
	if (!ret)
		return 0;

	err = -ret;
	mcai_blob_ident(blob, size, name, &version);
	switch (err) {
	case EPERM:
	case EACCES:
		return mcai_dev_fail(d, err,
				     "loading models needs CAP_SYS_ADMIN");
	case EINVAL:
		if (req.reason[0])
			return mcai_dev_fail(d, err,
					     "model rejected: %s (at byte %u)",
					     req.reason, req.err_offset);
		return mcai_dev_fail(d, err,
			"the kernel refused the load request (flags 0x%x): the "
			"module may be older than this program", flags);
	case EKEYREJECTED:
		return mcai_dev_fail(d, err, "signature refused: %s",
				     req.reason[0] ? req.reason :
				     "require_signed is set and the blob is not "
				     "signed by a key of the .mcai keyring");
	case EBADMSG:
		return mcai_dev_fail(d, err, "malformed signature: %s",
				     req.reason[0] ? req.reason :
				     "the trailer or the PKCS#7 does not parse");
	case EEXIST:
		return mcai_dev_fail(d, err,
				     "version %u of %s is already loaded",
				     version, name);
	case ESTALE:
		/* The kernel says which version stays loaded. */
		return mcai_dev_fail(d, err,
				     "%s version %u is older than the loaded "
				     "version %u (use --force)", name, version,
				     req.version);
	case ENOSPC:
		return mcai_dev_fail(d, err,
				     "no room for another model: %s (unload one "
				     "first)",
				     req.reason[0] ? req.reason :
						     "no free model id");
	case EINTR:
		return mcai_dev_fail(d, err,
			"load interrupted (while the kernel ran the model's "
			"test vectors?)");
	case ENOMEM:
		return mcai_dev_fail(d, err,
			"the kernel is out of memory for a %u-byte model", size);
	}
	return mcai_dev_fail_common(d, err, "MODEL_LOAD", sizeof(req));
}

int mcai_dev_unload(struct mcai_dev *d, struct mcai_sel sel)
{
	struct mcai_model_unload req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	ret = mcai_dev_ref(d, sel, &req.ref);
	if (ret)
		return ret;
	ret = mcai_dev_ioctl(d, MCAI_IOC_MODEL_UNLOAD, &req);
	switch (-ret) {
	case 0:
		return 0;
	case EPERM:
	case EACCES:
		return mcai_dev_fail(d, -ret,
				     "unloading models needs CAP_SYS_ADMIN");
	case ENOENT:
		return mcai_dev_no_model(d, sel);
	case EINVAL:
		return mcai_dev_fail(d, EINVAL,
			"the kernel refused the unload request: the module may "
			"be older than this program");
	}
	return mcai_dev_fail_common(d, -ret, "MODEL_UNLOAD", sizeof(req));
}

int mcai_dev_model_info(struct mcai_dev *d, struct mcai_sel sel,
			struct mcai_model_info *mi)
{
	int ret;

	memset(mi, 0, sizeof(*mi));
	mi->size = sizeof(*mi);
	ret = mcai_dev_ref(d, sel, &mi->ref);
	if (ret)
		return ret;
	ret = mcai_dev_ioctl(d, MCAI_IOC_MODEL_INFO, mi);
	switch (-ret) {
	case 0:
		mi->ref.name[MCAI_NAME_LEN - 1] = '\0';
		return 0;
	case ENOENT:
		return mcai_dev_no_model(d, sel);
	case EINVAL:
		return mcai_dev_fail(d, EINVAL,
			"the kernel refused the MODEL_INFO request: the module "
			"may be older than this program");
	}
	return mcai_dev_fail_common(d, -ret, "MODEL_INFO", sizeof(*mi));
}

int mcai_dev_list(struct mcai_dev *d, u32 **ids, u32 *count)
{
	struct mcai_model_list req;
	u32 *buf = NULL, cap = 0;
	int ret, tries;

	*ids = NULL;
	*count = 0;
	/* Models may come and go between two calls: retry a few times. */
	for (tries = 0; tries < 8; tries++) {
		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.ids_ptr = (u64)(uintptr_t)buf;
		req.capacity = cap;
		ret = mcai_dev_ioctl(d, MCAI_IOC_MODEL_LIST, &req);
		if (ret) {
			free(buf);
			if (ret == -EINVAL)
				return mcai_dev_fail(d, EINVAL,
					"the kernel refused the MODEL_LIST "
					"request: the module may be older than "
					"this program");
			return mcai_dev_fail_common(d, -ret, "MODEL_LIST",
						    sizeof(req));
		}
		if (req.count <= cap) {
			if (!req.count) {
				free(buf);
				buf = NULL;
			}
			*ids = buf;
			*count = req.count;
			return 0;
		}
		free(buf);
		cap = req.count + 16;
		buf = calloc(cap, sizeof(*buf));
		if (!buf)
			return mcai_dev_fail(d, ENOMEM, "out of memory");
	}
	free(buf);
	return mcai_dev_fail(d, EAGAIN,
			     "the model table kept changing while listing it");
}

int mcai_dev_infer(struct mcai_dev *d, struct mcai_sel sel, const s8 *input,
		   u32 input_len, s8 *scores, u32 scores_cap,
		   struct mcai_infer_reply *r)
{
	struct mcai_model_info mi;
	struct mcai_infer req;
	char what[64];
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	ret = mcai_dev_ref(d, sel, &req.ref);
	if (ret)
		return ret;
	req.input_ptr = (u64)(uintptr_t)input;
	req.input_len = input_len;
	if (scores) {
		req.scores_ptr = (u64)(uintptr_t)scores;
		req.scores_len = scores_cap;
	}
	ret = mcai_dev_ioctl(d, MCAI_IOC_INFER, &req);
	if (!ret) {
		r->class_id = req.class_id;
		r->version = req.version;
		r->scores_len = req.scores_len;
		return 0;
	}
	switch (-ret) {
	case ENOENT:
		return mcai_dev_no_model(d, sel);
	case EINVAL:
		/* Which of our lengths was wrong?  Ask for the model's. */
		mcai_sel_str(sel, what, sizeof(what));
		ret = mcai_dev_model_info(d, sel, &mi);
		if (ret == 0) {
			if (mi.input_len != input_len)
				return mcai_dev_fail(d, EINVAL,
					"%s takes %u inputs, not %u", what,
					mi.input_len, input_len);
			if (scores && scores_cap < mi.output_len)
				return mcai_dev_fail(d, EINVAL,
					"%s has %u scores, room was given for "
					"%u", what, mi.output_len, scores_cap);
		} else if (ret == -ENOENT) {
			return mcai_dev_no_model(d, sel);
		}
		return mcai_dev_fail(d, EINVAL,
			"the kernel refused the inference request on %s (%u "
			"inputs)", what, input_len);
	}
	return mcai_dev_fail_common(d, -ret, "INFER", sizeof(req));
}

void mcai_stats_reply_free(struct mcai_stats_reply *r)
{
	free(r->mean);
	free(r->var);
	free(r->hist);
	r->mean = NULL;
	r->var = NULL;
	r->hist = NULL;
}

/*
 * The arrays are sized from the model's shape; if a swap changes it
 * between the two calls the kernel says so (n_features > capacity) and
 * the read is retried, without reset the first time round.
 */
int mcai_dev_model_stats(struct mcai_dev *d, struct mcai_sel sel, bool reset,
			 struct mcai_stats_reply *r)
{
	struct mcai_model_info mi;
	struct mcai_model_stats req;
	u32 fcap, ccap;
	int ret, tries;

	memset(r, 0, sizeof(*r));
	ret = mcai_dev_model_info(d, sel, &mi);
	if (ret)
		return ret;
	fcap = mi.input_len;
	ccap = mi.output_len < 2 ? 2 : mi.output_len;
	for (tries = 0; tries < 4; tries++) {
		mcai_stats_reply_free(r);
		r->mean = calloc(fcap ? fcap : 1, sizeof(*r->mean));
		r->var = calloc(fcap ? fcap : 1, sizeof(*r->var));
		r->hist = calloc(ccap ? ccap : 1, sizeof(*r->hist));
		if (!r->mean || !r->var || !r->hist) {
			mcai_stats_reply_free(r);
			return mcai_dev_fail(d, ENOMEM, "out of memory");
		}
		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.flags = reset ? MCAI_STATS_RESET : 0;
		ret = mcai_dev_ref(d, sel, &req.ref);
		if (ret)
			break;
		req.mean_ptr = (u64)(uintptr_t)r->mean;
		req.var_ptr = (u64)(uintptr_t)r->var;
		req.hist_ptr = (u64)(uintptr_t)r->hist;
		req.features_cap = fcap;
		req.classes_cap = ccap;
		ret = mcai_dev_ioctl(d, MCAI_IOC_MODEL_STATS, &req);
		if (ret)
			break;
		if (req.n_features <= fcap && req.n_classes <= ccap) {
			r->n_features = req.n_features;
			r->n_classes = req.n_classes;
			r->samples = req.samples;
			r->shed = req.shed;
			r->deadline_misses = req.deadline_misses;
			r->energy_uj = req.energy_uj;
			r->energy_source = req.energy_source;
			r->mpj_per_mac = req.mpj_per_mac;
			return 0;
		}
		fcap = req.n_features;
		ccap = req.n_classes;
	}
	mcai_stats_reply_free(r);
	switch (-ret) {
	case 0:
		return mcai_dev_fail(d, EAGAIN,
			"the model's shape kept changing while reading it");
	case ENOENT:
		return mcai_dev_no_model(d, sel);
	case EPERM:
		return mcai_dev_fail(d, EPERM,
			"resetting statistics needs CAP_SYS_ADMIN");
	case EINVAL:
		return mcai_dev_fail(d, EINVAL,
			"the kernel refused the MODEL_STATS request: the "
			"module may be older than this program");
	}
	return mcai_dev_fail_common(d, -ret, "MODEL_STATS", sizeof(req));
}

int mcai_dev_set_energy(struct mcai_dev *d, struct mcai_sel sel, u32 source,
			u64 mpj_per_mac)
{
	struct mcai_model_energy req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.source = source;
	req.mpj_per_mac = mpj_per_mac;
	ret = mcai_dev_ref(d, sel, &req.ref);
	if (ret)
		return ret;
	ret = mcai_dev_ioctl(d, MCAI_IOC_MODEL_ENERGY, &req);
	switch (-ret) {
	case 0:
		return 0;
	case EPERM:
	case EACCES:
		return mcai_dev_fail(d, -ret,
				     "setting energy figures needs CAP_SYS_ADMIN");
	case ENOENT:
		return mcai_dev_no_model(d, sel);
	case ENOTTY:
		return mcai_dev_fail(d, ENOTTY,
			"the module is too old to take measured energy "
			"(no MCAI_IOC_MODEL_ENERGY)");
	case EINVAL:
		return mcai_dev_fail(d, EINVAL,
			"the kernel refused the energy figure (source %u, "
			"%llu/1000 pJ per MAC; at most 10^9)", source,
			(unsigned long long)mpj_per_mac);
	}
	return mcai_dev_fail_common(d, -ret, "MODEL_ENERGY", sizeof(req));
}

int mcai_dev_pipeline_create(struct mcai_dev *d,
			     struct mcai_pipeline_create *req)
{
	int ret;

	req->size = sizeof(*req);
	ret = mcai_dev_ioctl(d, MCAI_IOC_PIPELINE_CREATE, req);
	switch (-ret) {
	case 0:
		return 0;
	case ENOENT:
		return mcai_dev_fail(d, ENOENT,
			"a pipeline member is not loaded");
	case EEXIST:
		return mcai_dev_fail(d, EEXIST,
			"a pipeline named %.*s already exists",
			MCAI_NAME_LEN, req->name);
	case ENOSPC:
		return mcai_dev_fail(d, ENOSPC,
			"too many pipelines on this file");
	case EINVAL:
		return mcai_dev_fail(d, EINVAL,
			"the kernel refused the pipeline: bad name, type or "
			"model count, members of different shapes, fire_class "
			"or escalate_below out of range, or weights on a "
			"pipeline that does not use them");
	}
	return mcai_dev_fail_common(d, -ret, "PIPELINE_CREATE", sizeof(*req));
}

int mcai_dev_infer_pipeline(struct mcai_dev *d, struct mcai_sel sel,
			    const s8 *input, u32 input_len, s8 *scores,
			    u32 scores_cap, struct mcai_infer_reply *r,
			    u32 *flags)
{
	struct mcai_infer req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = MCAI_INFER_PIPELINE;
	ret = mcai_dev_ref(d, sel, &req.ref);
	if (ret)
		return ret;
	req.input_ptr = (u64)(uintptr_t)input;
	req.input_len = input_len;
	if (scores) {
		req.scores_ptr = (u64)(uintptr_t)scores;
		req.scores_len = scores_cap;
	}
	ret = mcai_dev_ioctl(d, MCAI_IOC_INFER, &req);
	switch (-ret) {
	case 0:
		r->class_id = req.class_id;
		r->version = req.version;
		r->scores_len = req.scores_len;
		*flags = req.result_flags;
		return 0;
	case ENOENT:
		return mcai_dev_fail(d, ENOENT,
			"no such pipeline, or one of its models was unloaded");
	case ESTALE:
		return mcai_dev_fail(d, ESTALE,
			"a pipeline member was replaced by a version of "
			"another shape");
	case EINVAL:
		return mcai_dev_fail(d, EINVAL,
			"the kernel refused the pipeline inference (input "
			"length or score room wrong)");
	}
	return mcai_dev_fail_common(d, -ret, "INFER (pipeline)", sizeof(req));
}
