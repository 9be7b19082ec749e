// SPDX-License-Identifier: GPL-2.0
/*
 * Built by make.sh under the names mcai.ko, mcai_simsensor.ko and
 * mcai_iio.ko when the real modules fail to build for a kernel.  DKMS's autoinstall then
 * succeeds, so the kernel-headers package that triggered it configures
 * and the kernel upgrade completes; loading any of them fails, and
 * says why and where the build's errors are, instead of the module
 * silently missing.  A fixed mcai-dkms, or `dkms install --force`,
 * replaces it.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/utsname.h>

#ifndef MCAI_VERSION
#define MCAI_VERSION "unknown"
#endif

static int __init mcai_placeholder_init(void)
{
	pr_err("%s: mcai %s did not build for kernel %s, this is a placeholder: see make.log under /var/lib/dkms/mcai/%s/%s/\n",
	       KBUILD_MODNAME, MCAI_VERSION, init_utsname()->release,
	       MCAI_VERSION, init_utsname()->release);
	return -ENOEXEC;
}
module_init(mcai_placeholder_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mcai placeholder: the real module failed to build for this kernel");
