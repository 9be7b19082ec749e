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
 *  - little-endian loads from models/engine/port.h, not <asm/unaligned.h> (moved
 *    to <linux/unaligned.h> in 6.12);
 *  - copy_struct_from_user() (5.4), rcu_replace_pointer() (5.5),
 *    sysfs_emit() (5.10), all present on every target.
 * Anything version-dependent that the module needs later goes here, as a
 * shim named mcai_*, never as an #if in a .c file.
 */
#ifndef MCAI_COMPAT_H
#define MCAI_COMPAT_H

#include <linux/dma-buf.h>
#include <linux/iosys-map.h>
#include <linux/key.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/verification.h>

/*
 * vma->vm_flags became read-only in 6.3: vm_flags_set()/vm_flags_mod()
 * replace direct writes (Debian's 6.1 has no backport of them).  kmod/Kbuild
 * defines MCAI_HAVE_VM_FLAGS_SET when the kernel's <linux/mm.h> has them:
 * a feature test, not a version test.
 */
#ifndef MCAI_HAVE_VM_FLAGS_SET
static inline void mcai_vm_flags_set(struct vm_area_struct *vma,
				     unsigned long set)
{
	vma->vm_flags |= set;
}

static inline void mcai_vm_flags_mod(struct vm_area_struct *vma,
				     unsigned long set, unsigned long clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#else
static inline void mcai_vm_flags_set(struct vm_area_struct *vma,
				     unsigned long set)
{
	vm_flags_set(vma, set);
}

static inline void mcai_vm_flags_mod(struct vm_area_struct *vma,
				     unsigned long set, unsigned long clear)
{
	vm_flags_mod(vma, set, clear);
}
#endif

/*
 * verify_pkcs7_signature() exists only with CONFIG_SYSTEM_DATA_VERIFICATION
 * (=y in Debian's 6.1, 6.12 and 6.12-rt, same prototype in all three).
 * Without it no signature can verify: require_signed=1 then refuses
 * every blob rather than failing to build.
 */
#if IS_ENABLED(CONFIG_SYSTEM_DATA_VERIFICATION)
static inline int mcai_verify_pkcs7(const void *data, size_t len,
				    const void *sig, size_t sig_len,
				    struct key *keyring)
{
	return verify_pkcs7_signature(data, len, sig, sig_len, keyring,
				      VERIFYING_UNSPECIFIED_SIGNATURE,
				      NULL, NULL);
}
#else
static inline int mcai_verify_pkcs7(const void *data, size_t len,
				    const void *sig, size_t sig_len,
				    struct key *keyring)
{
	return -ENOPKG;
}
#endif

/*
 * dma_buf_vmap() on 6.1 takes the buffer's lock itself; from 6.2 the
 * caller must hold the reservation lock, and dma_buf_vmap_unlocked()
 * takes it (6.12 has both).  kmod/Kbuild defines
 * MCAI_HAVE_DMA_BUF_VMAP_UNLOCKED when <linux/dma-buf.h> declares it.
 * The iosys_map argument is the same on every target.
 */
#ifdef MCAI_HAVE_DMA_BUF_VMAP_UNLOCKED
static inline int mcai_dma_buf_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	return dma_buf_vmap_unlocked(buf, map);
}

static inline void mcai_dma_buf_vunmap(struct dma_buf *buf,
				       struct iosys_map *map)
{
	dma_buf_vunmap_unlocked(buf, map);
}
#else
static inline int mcai_dma_buf_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	return dma_buf_vmap(buf, map);
}

static inline void mcai_dma_buf_vunmap(struct dma_buf *buf,
				       struct iosys_map *map)
{
	dma_buf_vunmap(buf, map);
}
#endif

/*
 * MODULE_IMPORT_NS() took a bare identifier up to 6.12 and takes a string
 * from 6.13; kmod/Kbuild defines MCAI_HAVE_IMPORT_NS_STRING for the
 * latter (module.h's definition no longer stringifies).
 */
#ifdef MCAI_HAVE_IMPORT_NS_STRING
#define MCAI_IMPORT_NS_DMA_BUF	MODULE_IMPORT_NS("DMA_BUF")
#else
#define MCAI_IMPORT_NS_DMA_BUF	MODULE_IMPORT_NS(DMA_BUF)
#endif

#endif /* MCAI_COMPAT_H */
