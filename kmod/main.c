// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include "models/verify.h"
#include "models/engine.h"
static int __init mcai_init(void) { return 0; }
static void __exit mcai_exit(void) { }
module_init(mcai_init);
module_exit(mcai_exit);
MODULE_LICENSE("GPL");
