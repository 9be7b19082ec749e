/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place for differences between the kernels mcai.ko builds on:
 * Debian's 6.1 (the reference gateway kernel), 6.12 and 6.12-rt.
 *
 * The module deliberately sticks to interfaces that did not change over
 * that range, so that this header stays small:
 *  - a misc device, not class_create() (its signature changed in 6.4);
 *  - fops without .llseek plus nonseekable_open(), not no_llseek (gone in
 *    6.12);
 *  - little-endian loads from models/port.h, not <asm/unaligned.h> (moved
 *    to <linux/unaligned.h> in 6.12);
 *  - copy_struct_from_user() (5.4), rcu_replace_pointer() (5.5),
 *    sysfs_emit() (5.10), all present on every target.
 * Anything version-dependent that the module needs later goes here, as a
 * shim named mcai_*, never as an #if in a .c file.
 */
#ifndef MCAI_COMPAT_H
#define MCAI_COMPAT_H

/* No shim is needed yet: every interface above is the same on all targets. */

#endif /* MCAI_COMPAT_H */
