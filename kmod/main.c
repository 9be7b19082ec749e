// SPDX-License-Identifier: GPL-2.0
/*
 * mcai.ko: Micro-Collective AI.  Module parameters, the /dev/mcai misc
 * device and its read-only counters in sysfs, init and exit.
 *
 * Counters, under /sys/class/misc/mcai/ (all read-only):
 *   nr_models      models in the table
 *   live_slots     model slots allocated (in the table or pinned by a
 *                  version still in use)
 *   live_versions  model versions allocated (current or still in use)
 *   live_bytes     bytes held by slots, versions and their blobs
 *   inferences     inferences completed since the module was loaded
 * After every model is unloaded and no inference runs, live_* read 0; the
 * leak tests rely on that.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/sysfs.h>

#include "account.h"
#include "compat.h"
#include "ioctl.h"
#include "mirror.h"
#include "pipeline.h"
#include "registry.h"
#include "sched.h"
#include "sign.h"
#include "models/engine/simd.h"

/* Limits on untrusted blobs; read-only once the module is loaded. */
static unsigned int max_blob_size = MCAI_DEFAULT_MAX_BLOB;
module_param(max_blob_size, uint, 0444);
MODULE_PARM_DESC(max_blob_size, "largest model blob accepted, bytes");

static unsigned int max_models = 64;
module_param(max_models, uint, 0444);
MODULE_PARM_DESC(max_models, "most model names loaded at once");

static unsigned int max_layers = MCAI_BLOB_MAX_LAYERS;
module_param(max_layers, uint, 0444);
MODULE_PARM_DESC(max_layers, "most layers in a model");

static unsigned int max_dim = MCAI_DEFAULT_MAX_DIM;
module_param(max_dim, uint, 0444);
MODULE_PARM_DESC(max_dim, "widest layer, or largest tensor dimension, elements");

static unsigned int max_arena = MCAI_DEFAULT_MAX_ARENA;
module_param(max_arena, uint, 0444);
MODULE_PARM_DESC(max_arena, "most scratch memory one inference may need, bytes");

static unsigned long long max_macs = MCAI_DEFAULT_MAX_MACS;
module_param(max_macs, ullong, 0444);
MODULE_PARM_DESC(max_macs, "most multiply-accumulates in one inference of a graph");

/*
 * simd=: the engine's vector path (models/engine/simd.h), chosen once
 * here, before any model is loaded and packed for it.  auto (the
 * default) is the best this CPU runs; a path it lacks is refused, so
 * insmod fails rather than run something else than asked.
 */
static int mcai_simd_param_set(const char *val, const struct kernel_param *kp)
{
	char name[16];
	int path;

	strscpy(name, val, sizeof(name));
	strim(name);
	path = mcai_simd_parse(name);
	if (path < 0) {
		pr_err("simd=%s: unknown path (auto, off, avx2, avx512vnni, avxvnni, neon, dotprod)\n",
		       name);
		return -EINVAL;
	}
	if (mcai_simd_set(path)) {
		pr_err("simd=%s: this CPU lacks it (best here: %s)\n", name,
		       mcai_simd_name(mcai_simd_best()));
		return -EINVAL;
	}
	return 0;
}

static int mcai_simd_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", mcai_simd_name(mcai_simd_active()));
}

static const struct kernel_param_ops mcai_simd_param_ops = {
	.set = mcai_simd_param_set,
	.get = mcai_simd_param_get,
};

module_param_cb(simd, &mcai_simd_param_ops, NULL, 0444);
MODULE_PARM_DESC(simd, "SIMD path: auto (default: the best the CPU has), off, avx2, avx512vnni, avxvnni, neon, dotprod");

/*
 * Upper bounds on the parameters themselves: kvmalloc() refuses (and warns
 * about) sizes above INT_MAX, and the format caps layers and widths.
 */
#define MCAI_PARAM_MAX_BLOB	SZ_1G
#define MCAI_PARAM_MAX_ARENA	SZ_16M
#define MCAI_PARAM_MAX_MODELS	65536U

static int __init mcai_limits_from_params(struct mcai_limits *lim)
{
	if (!max_blob_size || max_blob_size > MCAI_PARAM_MAX_BLOB ||
	    !max_models || max_models > MCAI_PARAM_MAX_MODELS ||
	    !max_layers || max_layers > MCAI_BLOB_MAX_LAYERS ||
	    !max_dim || max_dim > MCAI_MAX_DIM ||
	    !max_arena || max_arena > MCAI_PARAM_MAX_ARENA ||
	    !max_macs || max_macs > MCAI_CEIL_MAX_MACS) {
		pr_err("module parameter out of range\n");
		return -EINVAL;
	}
	lim->max_blob_size = max_blob_size;
	lim->max_layers = max_layers;
	lim->max_dim = max_dim;
	lim->max_arena = max_arena;
	lim->max_macs = max_macs;
	return 0;
}

static ssize_t nr_models_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", mcai_registry_count());
}
static DEVICE_ATTR_RO(nr_models);

static ssize_t live_slots_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&mcai_live.slots));
}
static DEVICE_ATTR_RO(live_slots);

static ssize_t live_versions_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&mcai_live.versions));
}
static DEVICE_ATTR_RO(live_versions);

static ssize_t live_bytes_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&mcai_live.bytes));
}
static DEVICE_ATTR_RO(live_bytes);

static ssize_t inferences_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&mcai_live.inferences));
}
static DEVICE_ATTR_RO(inferences);

static struct attribute *mcai_attrs[] = {
	&dev_attr_nr_models.attr,
	&dev_attr_live_slots.attr,
	&dev_attr_live_versions.attr,
	&dev_attr_live_bytes.attr,
	&dev_attr_inferences.attr,
	NULL,
};
ATTRIBUTE_GROUPS(mcai);

/*
 * Mode 0666: inference needs only an open fd; loading and unloading check
 * CAP_SYS_ADMIN at each ioctl, not at open.
 */
static struct miscdevice mcai_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = MCAI_DEVICE_NAME,
	.fops = &mcai_fops,
	.groups = mcai_groups,
	.mode = 0666,
};

static int __init mcai_init(void)
{
	struct mcai_limits lim;
	int ret;

	ret = mcai_limits_from_params(&lim);
	if (ret)
		goto err;
	/* kmod/account.c: session_mem_mb, user_mem_mb, *_pipelines */
	ret = mcai_acct_init_module();
	if (ret)
		goto err;
	ret = mcai_pipeline_init_module();
	if (ret)
		goto err;
	mcai_registry_init(&lim, max_models);
	ret = mcai_sched_init_module();
	if (ret)
		goto err_registry;
	/* The keyring exists before /dev/mcai: no load can miss it. */
	ret = mcai_sign_init();
	if (ret)
		goto err_sched;
	ret = mcai_mirror_init();
	if (ret)
		goto err_sign;

	ret = misc_register(&mcai_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", MCAI_DEVICE_NAME, ret);
		goto err_mirror;
	}
	pr_info("ABI %d, max_blob_size %u, max_models %u, max_dim %u, max_arena %u, max_macs %llu, simd %s\n",
		MCAI_ABI_VERSION, max_blob_size, max_models, max_dim,
		max_arena, max_macs, mcai_simd_name(mcai_simd_active()));
	return 0;

err_mirror:
	mcai_mirror_exit();
err_sign:
	mcai_sign_exit();
err_sched:
	mcai_sched_exit_module();
err_registry:
	mcai_registry_exit();
	mcai_pipeline_exit_module();
err:
	return ret;
}

/* No fd is open (fops.owner pins the module), so no model is in use. */
static void __exit mcai_exit(void)
{
	misc_deregister(&mcai_misc);
	/* no session is left: each one waited for its work at release */
	mcai_mirror_exit();
	mcai_sign_exit();
	mcai_sched_exit_module();
	mcai_registry_exit();
	mcai_pipeline_exit_module();
	mcai_acct_exit_module();
}

module_init(mcai_init);
module_exit(mcai_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Micro-Collective AI: int8 micro-models behind /dev/mcai");
MODULE_AUTHOR("mcai developers");
