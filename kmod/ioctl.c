// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mcai ioctls.
 *
 * Every structure starts with a __u32 size set by user space.  It is read
 * once, bounded, and the structure is copied with copy_struct_from_user(),
 * which zero-fills what an older caller did not pass and refuses (-E2BIG)
 * a newer caller's tail unless it is zero.  Results go back with
 * min(user size, kernel size) bytes.  Commands are matched on everything
 * but their size bits, which change whenever a structure grows.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "account.h"
#include "client.h"
#include "compat.h"
#include "dmabuf.h"
#include "file.h"
#include "infer.h"
#include "ioctl.h"
#include "mirror.h"
#include "pipeline.h"
#include "registry.h"
#include "sched.h"
#include "session.h"
#include "stats.h"
#include "models/engine/simd.h"

#define MCAI_IOC_BASE(cmd)	((cmd) & ~IOCSIZE_MASK)

/* Larger structures are surely garbage; keeps check_zeroed_user() short. */
#define MCAI_MAX_STRUCT_SIZE	PAGE_SIZE

/*
 * Copy the caller's structure into @k (@ksize bytes).  Every structure of
 * ABI version 1 is complete, so a shorter one is refused.  *@usize returns
 * the size the caller declared, for the copy back.
 */
static int mcai_copy_in_min(void *k, size_t ksize, size_t minsize,
			    void __user *u, u32 *usize)
{
	u32 size;
	int ret;

	if (get_user(size, (u32 __user *)u))
		return -EFAULT;
	if (size < minsize)
		return -EINVAL;
	if (size > MCAI_MAX_STRUCT_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(k, ksize, u, size);
	if (ret)
		return ret;
	/* The field may have changed since get_user(): keep the first read. */
	*(u32 *)k = size;
	*usize = size;
	return 0;
}

static int mcai_copy_in(void *k, size_t ksize, void __user *u, u32 *usize)
{
	return mcai_copy_in_min(k, ksize, ksize, u, usize);
}

static int mcai_copy_out(void __user *u, const void *k, size_t ksize,
			 u32 usize)
{
	return copy_to_user(u, k, min_t(size_t, ksize, usize)) ? -EFAULT : 0;
}

/*
 * Privileged requests need CAP_SYS_ADMIN in the opener's credentials or
 * the caller's: a daemon opens /dev/mcai as root, drops every privilege
 * and keeps loading models through the fd it opened read-write
 * (file_ns_capable(), as elsewhere in the kernel).  Such an fd is a
 * capability: whoever it is passed to can use it, which is the point.
 */
static bool mcai_admin(const struct file *file)
{
	/* a read-only fd grants nothing, whoever opened it */
	return ((file->f_mode & FMODE_WRITE) &&
		file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN)) ||
	       capable(CAP_SYS_ADMIN);
}

/*
 * Who a request is charged to, and which pipelines it sees
 * (kmod/account.h, kmod/pipeline.h): the opener's user, or NULL for an
 * admin.  The same test as mcai_admin(), but any user's session or
 * pipeline asks it, so a "no" is not audited as a denied privilege: the
 * opener's half was found at open (its credentials were current's then).
 */
static struct mcai_acct *mcai_user(struct file *file)
{
	struct mcai_file *f = file->private_data;

	if (((file->f_mode & FMODE_WRITE) && f->opener_admin) ||
	    ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN))
		return NULL;
	return f->acct;
}

/*
 * A model is selected by id, or by name when the id is 0; the name is
 * then NUL terminated and non-empty.  With an id the name is ignored,
 * so that a structure MODEL_INFO filled in can be passed on unchanged.
 */
static int mcai_check_ref(const struct mcai_model_ref *ref)
{
	if (ref->pad)
		return -EINVAL;
	if (ref->model_id)
		return 0;
	if (!ref->name[0] || !memchr(ref->name, '\0', MCAI_NAME_LEN))
		return -EINVAL;
	return 0;
}

static long mcai_ioctl_get_info(struct mcai_file *f, void __user *u)
{
	const struct mcai_limits *lim = mcai_registry_limits();
	struct mcai_info info;
	u32 usize;
	int ret;

	/* Grew the accounting fields after ABI version 1. */
	BUILD_BUG_ON(offsetof(struct mcai_info, mem_limit) !=
		     MCAI_INFO_SIZE_VER1);
	ret = mcai_copy_in_min(&info, sizeof(info), MCAI_INFO_SIZE_VER1, u,
			       &usize);
	if (ret)
		return ret;
	/* every field past pad is out only, and ignored on input */
	if (info.pad)
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.abi_version = MCAI_ABI_VERSION;
	strscpy(info.simd, mcai_simd_name(mcai_simd_active()),
		sizeof(info.simd));
	info.features = MCAI_FEAT_SYNC_INFER | MCAI_FEAT_HOT_SWAP |
			MCAI_FEAT_TEST_VECTORS | MCAI_FEAT_PIPELINES |
			MCAI_FEAT_STATS | MCAI_FEAT_SESSIONS | MCAI_FEAT_POLICY |
			MCAI_FEAT_TRACEPOINTS | MCAI_FEAT_ENERGY_FEED |
			MCAI_FEAT_SIGNED | MCAI_FEAT_ATTACH_LIST |
			MCAI_FEAT_DMABUF;
	if (mcai_mirror_enabled())
		info.features |= MCAI_FEAT_MIRROR;
	info.blob_format_version = MCAI_BLOB2_VERSION;
	info.max_blob_size = lim->max_blob_size;
	info.max_models = mcai_registry_max_models();
	info.max_layers = lim->max_layers;
	info.max_dim = lim->max_dim;
	info.max_arena = lim->max_arena;
	info.nr_models = mcai_registry_count();
	mcai_acct_info(f->acct, &info);
	return mcai_copy_out(u, &info, sizeof(info), usize);
}

/*
 * The structure goes back even when the load is refused, so that user
 * space can read the reason; the out fields on input are ignored.
 */
static long mcai_ioctl_load(struct file *file, void __user *u)
{
	struct mcai_load_result res = { 0 };
	struct mcai_model_load req;
	u32 usize;
	int ret, ret2;

	if (!mcai_admin(file))
		return -EPERM;
	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	if (ret)
		return ret;
	if (req.flags & ~MCAI_LOAD_FLAGS_ALL || req.pad)
		return -EINVAL;

	ret = mcai_registry_load(u64_to_user_ptr(req.blob_ptr), req.blob_size,
				 req.flags, &res);
	/* drivers waiting for this name bind now (kmod/client.c) */
	if (!ret)
		mcai_clients_resync();
	req.model_id = res.model_id;
	req.version = res.version;
	req.replaced_version = res.replaced_version;
	req.err_offset = res.err_offset;
	memcpy(req.reason, res.reason, sizeof(req.reason));
	req.reason[sizeof(req.reason) - 1] = '\0';

	ret2 = mcai_copy_out(u, &req, sizeof(req), usize);
	return ret ? ret : ret2;
}

static long mcai_ioctl_unload(struct file *file, void __user *u)
{
	struct mcai_model_unload req;
	u32 usize;
	int ret;

	if (!mcai_admin(file))
		return -EPERM;
	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	if (ret)
		return ret;
	if (req.flags)
		return -EINVAL;
	ret = mcai_check_ref(&req.ref);
	if (ret)
		return ret;
	ret = mcai_registry_unload(req.ref.model_id, req.ref.name);
	/* drivers bound to it go back to waiting (kmod/client.c) */
	if (!ret)
		mcai_clients_resync();
	return ret;
}

static long mcai_ioctl_model_info(void __user *u)
{
	const struct mcai_model *m;
	struct mcai_model_info req;
	struct mcai_version *v;
	u32 usize;
	int ret;

	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	if (ret)
		return ret;
	if (req.flags)
		return -EINVAL;
	ret = mcai_check_ref(&req.ref);
	if (ret)
		return ret;

	v = mcai_version_get(req.ref.model_id, req.ref.name);
	if (!v)
		return -ENOENT;
	m = &v->m;
	req.ref.model_id = v->slot->id;
	memcpy(req.ref.name, v->slot->name, MCAI_NAME_LEN);
	req.version = m->version;
	req.n_layers = m->n_layers;
	req.input_len = m->input_len;
	req.output_len = m->output_len;
	req.macs = m->macs;
	req.blob_size = m->blob_size;
	req.arena_size = m->arena_size;
	req.input_scale = m->input_scale;
	req.output_scale = m->output_scale;
	req.input_zp = m->input_zp;
	req.output_zp = m->output_zp;
	req.head = m->head;
	req.head_threshold = m->head_threshold;
	req.tv_count = m->tv_count;
	req.inferences = atomic64_read(&v->slot->inferences);
	memcpy(req.digest, m->digest, MCAI_DIGEST_LEN);
	mcai_version_put(v);

	return mcai_copy_out(u, &req, sizeof(req), usize);
}

static long mcai_ioctl_list(void __user *u)
{
	struct mcai_model_list req;
	u32 usize, cap, n;
	u32 *ids = NULL;
	int ret;

	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	if (ret)
		return ret;
	if (req.flags)
		return -EINVAL;

	/* Never more than max_models ids exist: bound the buffer by that. */
	cap = min(req.capacity, mcai_registry_max_models());
	if (cap) {
		ids = kcalloc(cap, sizeof(*ids), MCAI_GFP_USER);
		if (!ids)
			return -ENOMEM;
	}
	n = mcai_registry_list(ids, cap);
	req.count = n;
	/* Copied outside the registry lock: a fault may sleep for long. */
	if (min(n, cap) &&
	    copy_to_user(u64_to_user_ptr(req.ids_ptr), ids,
			 min(n, cap) * sizeof(*ids)))
		ret = -EFAULT;
	kfree(ids);
	if (ret)
		return ret;
	return mcai_copy_out(u, &req, sizeof(req), usize);
}

/*
 * MCAI_IOC_ATTACH_LIST: the drivers' attachments (kmod/client.c), open to
 * anyone like MODEL_LIST.  Each record goes out with min(rec_size, ours)
 * bytes at rec_size strides, so the record can grow at its end.
 */
static long mcai_ioctl_attach_list(void __user *u)
{
	struct mcai_attach_list req;
	struct mcai_attach_info *recs = NULL;
	u32 usize, cap, n, i;
	size_t len;
	int ret;

	BUILD_BUG_ON(sizeof(struct mcai_attach_info) !=
		     MCAI_ATTACH_INFO_SIZE_VER1);
	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	if (ret)
		return ret;
	if (req.flags || req.pad)
		return -EINVAL;
	if (req.capacity && (req.rec_size < MCAI_ATTACH_INFO_SIZE_VER1 ||
			     req.rec_size > MCAI_MAX_STRUCT_SIZE))
		return -EINVAL;
	/* bounded by what exists, never by what the caller asks */
	cap = min(req.capacity, mcai_clients_count());
	if (cap) {
		recs = kcalloc(cap, sizeof(*recs), MCAI_GFP_USER);
		if (!recs)
			return -ENOMEM;
	}
	n = mcai_clients_list(recs, cap);
	req.count = n;
	len = min_t(size_t, req.rec_size, sizeof(*recs));
	for (i = 0; i < min(n, cap); i++) {
		if (copy_to_user(u64_to_user_ptr(req.buf_ptr) +
				 (size_t)i * req.rec_size, &recs[i], len)) {
			ret = -EFAULT;
			break;
		}
	}
	kfree(recs);
	if (ret)
		return ret;
	return mcai_copy_out(u, &req, sizeof(req), usize);
}

static long mcai_ioctl_infer(struct file *file, void __user *u)
{
	struct mcai_infer req;
	u32 usize;
	int ret;

	/* Grew result_flags after ABI version 1: older callers still work. */
	ret = mcai_copy_in_min(&req, sizeof(req), MCAI_INFER_SIZE_VER1, u,
			       &usize);
	if (ret)
		return ret;
	if (req.flags & ~MCAI_INFER_FLAGS_ALL || req.result_flags || req.pad)
		return -EINVAL;
	ret = mcai_check_ref(&req.ref);
	if (ret)
		return ret;
	if (req.flags & MCAI_INFER_PIPELINE)
		ret = mcai_pipeline_infer(&req, mcai_user(file));
	else
		ret = mcai_infer(&req);
	if (ret)
		return ret;
	return mcai_copy_out(u, &req, sizeof(req), usize);
}

/*
 * MCAI_IOC_INFER_DMABUF (anyone, like INFER): frames in a dma-buf
 * (kmod/dmabuf.c).  The results are gathered in kernel buffers and
 * copied out after the buffer and the model are let go, as INFER copies
 * after its put: a stalled copy pins neither.
 */
static long mcai_ioctl_infer_dmabuf(void __user *u)
{
	struct mcai_dmabuf_out out = { 0 };
	struct mcai_dmabuf_frames f;
	struct mcai_infer_dmabuf req;
	struct mcai_version *v;
	struct dma_buf *buf;
	u32 usize;
	int ret;

	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	if (ret)
		return ret;
	if (req.flags || req.pad)
		return -EINVAL;
	ret = mcai_check_ref(&req.ref);
	if (ret)
		return ret;
	if (!req.frames || req.frames > MCAI_DMABUF_MAX_FRAMES)
		return -EINVAL;
	f.offset = req.offset;
	f.stride = req.stride;
	f.frames = req.frames;
	f.input_len = req.input_len;

	/* the scores buffer is sized by the model, never by the caller */
	if (req.scores_ptr) {
		v = mcai_version_get(req.ref.model_id, req.ref.name);
		if (!v)
			return -ENOENT;
		out.scores_len = req.frames * v->m.output_len;
		mcai_version_put(v);
		if (req.scores_len < out.scores_len)
			return -ENOSPC;
		out.scores = kvmalloc(out.scores_len, MCAI_GFP_USER);
		if (!out.scores)
			return -ENOMEM;
	}
	if (req.classes_ptr) {
		out.classes = kcalloc(req.frames, sizeof(*out.classes),
				      MCAI_GFP_USER);
		if (!out.classes) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	/* EBADF: no such fd; EINVAL: an fd, but not a dma-buf */
	buf = dma_buf_get(req.fd);
	if (IS_ERR(buf)) {
		ret = PTR_ERR(buf);
		goto out_free;
	}
	ret = mcai_dmabuf_run(req.ref.model_id, req.ref.name, buf, &f, &out);
	dma_buf_put(buf);
	if (ret)
		goto out_free;
	if (out.classes &&
	    copy_to_user(u64_to_user_ptr(req.classes_ptr), out.classes,
			 (size_t)req.frames * sizeof(*out.classes))) {
		ret = -EFAULT;
		goto out_free;
	}
	if (out.scores &&
	    copy_to_user(u64_to_user_ptr(req.scores_ptr), out.scores,
			 out.scores_len)) {
		ret = -EFAULT;
		goto out_free;
	}
	req.version = out.version;
	req.scores_len = out.scores_len;
	ret = mcai_copy_out(u, &req, sizeof(req), usize);
out_free:
	kfree(out.classes);
	kvfree(out.scores);
	return ret;
}

/* An admin's pipeline is one drivers may attach to (kmod/pipeline.h). */
static long mcai_ioctl_pipeline_create(struct file *file, void __user *u)
{
	struct mcai_pipeline_create req;
	u32 usize;
	int ret;

	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	if (ret)
		return ret;
	ret = mcai_pipeline_create(file->private_data, &req, mcai_user(file));
	if (ret)
		return ret;
	/* an admin's pipeline may be what a driver waits for */
	if (!mcai_user(file))
		mcai_clients_resync();
	return mcai_copy_out(u, &req, sizeof(req), usize);
}

static long mcai_ioctl_model_stats(struct file *file, void __user *u)
{
	struct mcai_model_stats req;
	struct mcai_slot *s;
	u32 usize;
	int ret;

	BUILD_BUG_ON(offsetof(struct mcai_model_stats, energy_source) !=
		     MCAI_STATS_SIZE_VER1);
	ret = mcai_copy_in_min(&req, sizeof(req), MCAI_STATS_SIZE_VER1, u,
			       &usize);
	if (ret)
		return ret;
	if (req.flags & ~MCAI_STATS_RESET)
		return -EINVAL;
	if ((req.flags & MCAI_STATS_RESET) && !mcai_admin(file))
		return -EPERM;
	ret = mcai_check_ref(&req.ref);
	if (ret)
		return ret;
	s = mcai_slot_get(req.ref.model_id, req.ref.name);
	if (!s)
		return -ENOENT;
	ret = mcai_stats_read(&s->drift, &req);
	/* The scheduler's counters of the same model (kmod/sched.c). */
	mcai_sched_counters(&s->sched, &req);
	mcai_slot_put(s);
	if (ret)
		return ret;
	return mcai_copy_out(u, &req, sizeof(req), usize);
}

/* The out fields on input are ignored, as for MODEL_LOAD. */
static long mcai_ioctl_session_create(struct file *file, void __user *u)
{
	struct mcai_session_create req;
	u32 usize;
	int ret;

	BUILD_BUG_ON(offsetof(struct mcai_session_create, mirror_every) !=
		     MCAI_SESSION_CREATE_SIZE_VER1);
	ret = mcai_copy_in_min(&req, sizeof(req), MCAI_SESSION_CREATE_SIZE_VER1,
			       u, &usize);
	if (ret)
		return ret;
	ret = mcai_check_ref(&req.ref);
	if (ret)
		return ret;
	ret = mcai_session_ioctl_create(file->private_data, &req,
					mcai_user(file));
	if (ret)
		return ret;
	return mcai_copy_out(u, &req, sizeof(req), usize);
}

/*
 * The prologue of the requests that change a model's settings: the
 * privilege, the copy-in, the model reference (@ref points into @req).
 */
static int mcai_ioctl_setting_in(struct file *file, void __user *u,
				 void *req, size_t size,
				 const struct mcai_model_ref *ref)
{
	u32 usize;
	int ret;

	if (!mcai_admin(file))
		return -EPERM;
	ret = mcai_copy_in(req, size, u, &usize);
	if (ret)
		return ret;
	return mcai_check_ref(ref);
}

static long mcai_ioctl_model_policy(struct file *file, void __user *u)
{
	struct mcai_model_policy req;
	struct mcai_slot *s;
	int ret;

	ret = mcai_ioctl_setting_in(file, u, &req, sizeof(req), &req.ref);
	if (!ret)
		ret = mcai_sched_check_policy(&req);
	if (ret)
		return ret;
	s = mcai_slot_get(req.ref.model_id, req.ref.name);
	if (!s)
		return -ENOENT;
	mcai_sched_set_policy(&s->sched, &req);
	mcai_slot_put(s);
	return 0;
}

static long mcai_ioctl_model_energy(struct file *file, void __user *u)
{
	struct mcai_model_energy req;
	struct mcai_slot *s;
	int ret;

	ret = mcai_ioctl_setting_in(file, u, &req, sizeof(req), &req.ref);
	if (!ret)
		ret = mcai_sched_check_energy(&req);
	if (ret)
		return ret;
	s = mcai_slot_get(req.ref.model_id, req.ref.name);
	if (!s)
		return -ENOENT;
	mcai_sched_set_energy(&s->sched, &req);
	mcai_slot_put(s);
	return 0;
}

/* ---- sample mirror (kmod/mirror.c) ---------------------------------- */

/* Turning a mirror on is an admin's choice, as reading it is. */
static long mcai_ioctl_session_mirror(struct file *file, void __user *u)
{
	struct mcai_session_mirror req;
	u32 usize;
	int ret;

	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	return ret ? ret : mcai_session_ioctl_mirror(file->private_data, &req,
						     mcai_user(file));
}

static long mcai_ioctl_mirror_read(struct file *file, void __user *u)
{
	struct mcai_mirror_read req;
	u32 usize;
	int ret;

	if (!mcai_admin(file))
		return -EPERM;
	ret = mcai_copy_in(&req, sizeof(req), u, &usize);
	if (ret)
		return ret;
	ret = mcai_mirror_read(&req);
	if (ret)
		return ret;
	return mcai_copy_out(u, &req, sizeof(req), usize);
}

static long mcai_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *u = (void __user *)arg;

	switch (MCAI_IOC_BASE(cmd)) {
	case MCAI_IOC_BASE(MCAI_IOC_GET_INFO):
		return mcai_ioctl_get_info(file->private_data, u);
	case MCAI_IOC_BASE(MCAI_IOC_MODEL_LOAD):
		return mcai_ioctl_load(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_MODEL_UNLOAD):
		return mcai_ioctl_unload(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_MODEL_INFO):
		return mcai_ioctl_model_info(u);
	case MCAI_IOC_BASE(MCAI_IOC_MODEL_LIST):
		return mcai_ioctl_list(u);
	case MCAI_IOC_BASE(MCAI_IOC_INFER):
		return mcai_ioctl_infer(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_PIPELINE_CREATE):
		return mcai_ioctl_pipeline_create(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_SESSION_CREATE):
		return mcai_ioctl_session_create(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_SESSION_KICK):
		return mcai_session_ioctl_kick(file->private_data);
	case MCAI_IOC_BASE(MCAI_IOC_MODEL_POLICY):
		return mcai_ioctl_model_policy(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_MODEL_STATS):
		return mcai_ioctl_model_stats(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_MODEL_ENERGY):
		return mcai_ioctl_model_energy(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_SESSION_MIRROR):
		return mcai_ioctl_session_mirror(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_MIRROR_READ):
		return mcai_ioctl_mirror_read(file, u);
	case MCAI_IOC_BASE(MCAI_IOC_ATTACH_LIST):
		return mcai_ioctl_attach_list(u);
	case MCAI_IOC_BASE(MCAI_IOC_INFER_DMABUF):
		return mcai_ioctl_infer_dmabuf(u);
	}
	return -ENOTTY;
}

static int mcai_open(struct inode *inode, struct file *file)
{
	struct mcai_file *f;
	int ret;

	ret = nonseekable_open(inode, file);
	if (ret)
		return ret;
	f = kzalloc(sizeof(*f), MCAI_GFP_USER);
	if (!f)
		return -ENOMEM;
	/* everything this file makes is charged to whoever opened it */
	f->acct = mcai_acct_get(file->f_cred);
	if (IS_ERR(f->acct)) {
		ret = PTR_ERR(f->acct);
		kfree(f);
		return ret;
	}
	f->opener_admin = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
	mutex_init(&f->lock);
	INIT_LIST_HEAD(&f->pipelines);
	file->private_data = f;
	return 0;
}

/* The last reference to the file: nothing else can use @f any more. */
static int mcai_release(struct inode *inode, struct file *file)
{
	struct mcai_file *f = file->private_data;
	bool pipes = !list_empty(&f->pipelines);

	mcai_session_release_file(f);
	mcai_pipeline_release_file(f);
	/* a driver bound to one of them goes back to waiting */
	if (pipes)
		mcai_clients_resync();
	mcai_acct_put(f->acct);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static int mcai_mmap(struct file *file, struct vm_area_struct *vma)
{
	return mcai_session_mmap(file->private_data, vma);
}

static __poll_t mcai_poll(struct file *file, poll_table *wait)
{
	return mcai_session_poll(file->private_data, file, wait);
}

/* The doorbell: any 8 bytes. */
static ssize_t mcai_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	return mcai_session_write(file->private_data, count);
}

/*
 * .owner pins the module while any fd is open, so rmmod is refused
 * (-EBUSY) rather than pulling the code from under a caller.
 */
const struct file_operations mcai_fops = {
	.owner = THIS_MODULE,
	.open = mcai_open,
	.release = mcai_release,
	.unlocked_ioctl = mcai_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = mcai_mmap,
	.poll = mcai_poll,
	.write = mcai_write,
};
