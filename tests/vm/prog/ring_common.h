/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A zero-copy session from user space (uapi/mcai.h, "Zero-copy
 * sessions"): create, map, the slot and record addresses, the doorbell.
 * Nothing here reports or exits: each call returns -1 with errno, so that
 * programs with either failure convention (report.h, pipe_common.h) can
 * use it, and hostile tests can call the pieces out of order.
 */
#ifndef MCAI_VM_RING_COMMON_H
#define MCAI_VM_RING_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uapi/mcai.h"

struct ring {
	int fd;
	struct mcai_session_create sc;
	u8 *um, *km;			/* MCAI_MMAP_USER, MCAI_MMAP_KERNEL */
	struct mcai_user_ctl *uc;
	struct mcai_kernel_ctl *kc;
	u32 tail, rhead;		/* our own indices */
};

/*
 * SESSION_CREATE on @fd for the model @id, or by @name when @id is 0;
 * nothing mapped yet.
 */
static inline int ring_create(struct ring *r, int fd, u32 flags, u32 id,
			      const char *name, u32 in_slots, u32 res_slots)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->um = r->km = MAP_FAILED;
	r->sc.size = sizeof(r->sc);
	r->sc.flags = flags;
	r->sc.ref.model_id = id;
	if (name)
		strncpy(r->sc.ref.name, name, MCAI_NAME_LEN - 1);
	r->sc.in_slots = in_slots;
	r->sc.res_slots = res_slots;
	return ioctl(fd, MCAI_IOC_SESSION_CREATE, &r->sc);
}

/* Both regions, as the ABI requires them: shared, exact offset and length. */
static inline int ring_map(struct ring *r)
{
	r->um = mmap(NULL, r->sc.user_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, r->sc.user_off);
	if (r->um == MAP_FAILED)
		return -1;
	r->km = mmap(NULL, r->sc.kernel_len, PROT_READ, MAP_SHARED, r->fd,
		     r->sc.kernel_off);
	if (r->km == MAP_FAILED) {
		int e = errno;

		munmap(r->um, r->sc.user_len);
		r->um = MAP_FAILED;
		errno = e;
		return -1;
	}
	r->uc = (void *)r->um;
	r->kc = (void *)r->km;
	return 0;
}

static inline int ring_open(struct ring *r, int fd, u32 flags, u32 id,
			    const char *name, u32 in_slots, u32 res_slots)
{
	if (ring_create(r, fd, flags, id, name, in_slots, res_slots))
		return -1;
	return ring_map(r);
}

/* Whatever of the session is still there: mappings, then the fd. */
static inline void ring_close(struct ring *r)
{
	if (r->um != MAP_FAILED)
		munmap(r->um, r->sc.user_len);
	if (r->km != MAP_FAILED)
		munmap(r->km, r->sc.kernel_len);
	if (r->fd >= 0)
		close(r->fd);
	r->um = r->km = MAP_FAILED;
	r->fd = -1;
}

/* The input slot and the result record index @i lands in. */
static inline s8 *ring_in(const struct ring *r, u32 i)
{
	return (s8 *)(r->um + 4096 + (size_t)(i & (r->sc.in_slots - 1)) *
		      r->sc.slot_size);
}

static inline const struct mcai_result *ring_res(const struct ring *r, u32 i)
{
	return (const void *)(r->km + 4096 +
			      (size_t)(i & (r->sc.res_slots - 1)) *
			      r->sc.res_size);
}

/* The indices, with the ordering the ABI asks for. */
static inline u32 ring_load(const u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void ring_store(u32 *p, u32 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* The doorbell: MCAI_IOC_SESSION_KICK, or write() of 8 bytes. */
static inline int ring_kick(const struct ring *r, int use_write)
{
	u64 one = 1;

	if (use_write)
		return write(r->fd, &one, 8) == 8 ? 0 : -1;
	return ioctl(r->fd, MCAI_IOC_SESSION_KICK);
}

#endif /* MCAI_VM_RING_COMMON_H */
