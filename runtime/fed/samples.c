// SPDX-License-Identifier: GPL-2.0
/*
 * The labelled sample store (runtime/fed/samples.h has the format).
 *
 * Everything is checked on open and kept in memory as an index (one
 * struct per sample, ids increasing); inputs stay on disk and are read
 * with pread() when a dataset is built.  One process at a time writes a
 * store: the node daemon or mcaictl, under an flock() on the directory.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/lib/atomicfile.h"
#include "runtime/lib/errmsg.h"
#include "runtime/fed/samples.h"
#include "uapi/mcai.h"

#define SMP_MAGIC	0x4c504d53U	/* "SMPL" */
#define LBL_MAGIC	0x4c42414cU	/* "LABL" */
#define SEG_FMT		"seg-%016llx.smp"
#define LABELS		"labels.log"
#define DEF_MAX_BYTES	(64ULL << 20)
#define MIN_SEG_BYTES	(64ULL << 10)
/* A segment is read whole at open: refuse absurd ones. */
#define MAX_SEG_FILE	(1ULL << 30)

struct mcai_seg {
	u64 no;
	u64 size;
};

struct mcai_sample_ent {
	struct mcai_sample_meta m;
	u64 seg;		/* segment number */
	u64 off;		/* of the record */
};

struct mcai_samples {
	int dfd;
	struct mcai_samples_opts o;
	struct mcai_seg *segs;	/* increasing numbers; the last is current */
	u32 nsegs, segs_cap;
	struct mcai_sample_ent *ent;
	u32 n, cap;
	u64 next_id;
	u64 labelled;
	int wfd;		/* current segment, O_APPEND; -1 until needed */
	u64 wseg;		/* its number */
	int rfd;		/* a segment open for reading */
	u64 rseg;
	int lfd;		/* labels.log, O_APPEND */
	ino_t lbl_ino;		/* its inode: a compaction replaces it */
	u64 lbl_off;		/* bytes of it read */
	u64 label_recs;		/* records in labels.log */
	int depth;		/* st_begin() nesting */
	uid_t duid;		/* the directory's owner: files we create */
	gid_t dgid;		/* get it too (see own()) */
	bool dirty, new_seg;
	struct mcai_samples_stats st;
};

/* The message for the caller; the status is the caller's own. */
#define serr(err, errlen, ...) mcai_errmsg(err, errlen, 0, __VA_ARGS__)

/*
 * root (mcaictl) working on the daemon's store must not leave files the
 * daemon, which runs as its own user, cannot open: what we create
 * belongs to the directory's owner.
 */
static int own(const struct mcai_samples *st, int fd)
{
	if (geteuid() == 0 && fchown(fd, st->duid, st->dgid))
		return -errno;
	return 0;
}

/* ---- CRC-32C ---------------------------------------------------------- */

u32 mcai_crc32c(u32 crc, const void *p, size_t n)
{
	static u32 table[256];
	static bool ready;
	const u8 *b = p;
	size_t i;

	if (!ready) {
		for (u32 k = 0; k < 256; k++) {
			u32 c = k;

			for (int j = 0; j < 8; j++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
			table[k] = c;
		}
		ready = true;
	}
	crc = ~crc;
	for (i = 0; i < n; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- records ---------------------------------------------------------- */

static void smp_encode(u8 *h, const struct mcai_sample_meta *m,
		       const s8 *input)
{
	u32 crc;

	mcai_put_le32(h, SMP_MAGIC);
	mcai_put_le32(h + 4, MCAI_SAMPLES_HDR + m->input_len);
	mcai_put_le64(h + 8, m->id);
	mcai_put_le64(h + 16, m->timestamp_ns);
	mcai_put_le64(h + 24, m->kernel_seq);
	mcai_put_le32(h + 32, m->model_id);
	mcai_put_le32(h + 36, m->version);
	mcai_put_le32(h + 40, m->session_id);
	mcai_put_le32(h + 44, (u32)m->class_id);
	mcai_put_le32(h + 48, (u32)m->score);
	mcai_put_le32(h + 52, m->flags);
	mcai_put_le32(h + 56, m->input_len);
	crc = mcai_crc32c(0, h, 60);
	crc = mcai_crc32c(crc, input, m->input_len);
	mcai_put_le32(h + 60, crc);
}

enum smp_verdict { SMP_OK, SMP_TORN, SMP_BAD };

/* The record at @p (@avail bytes to the end of the file). */
static enum smp_verdict smp_decode(const u8 *p, u64 avail,
				   struct mcai_sample_meta *m)
{
	u32 len, in_len, crc;

	if (avail < MCAI_SAMPLES_HDR)
		return SMP_TORN;
	if (mcai_le32(p) != SMP_MAGIC)
		return SMP_BAD;
	len = mcai_le32(p + 4);
	in_len = mcai_le32(p + 56);
	if (!in_len || in_len > MCAI_SAMPLES_MAX_INPUT ||
	    len != MCAI_SAMPLES_HDR + in_len)
		return SMP_BAD;
	if (len > avail)
		return SMP_TORN;
	crc = mcai_crc32c(0, p, 60);
	crc = mcai_crc32c(crc, p + MCAI_SAMPLES_HDR, in_len);
	if (crc != mcai_le32(p + 60))
		return SMP_BAD;
	memset(m, 0, sizeof(*m));
	m->id = mcai_le64(p + 8);
	m->timestamp_ns = mcai_le64(p + 16);
	m->kernel_seq = mcai_le64(p + 24);
	m->model_id = mcai_le32(p + 32);
	m->version = mcai_le32(p + 36);
	m->session_id = mcai_le32(p + 40);
	m->class_id = mcai_les32(p + 44);
	m->score = mcai_les32(p + 48);
	m->flags = mcai_le32(p + 52);
	m->input_len = in_len;
	m->label = MCAI_SAMPLES_NO_LABEL;
	return SMP_OK;
}

static void lbl_encode(u8 *r, u64 id, u32 cls)
{
	mcai_put_le32(r, LBL_MAGIC);
	mcai_put_le32(r + 4, cls);
	mcai_put_le64(r + 8, id);
	mcai_put_le32(r + 16, mcai_crc32c(0, r, 16));
	mcai_put_le32(r + 20, 0);
}

static bool lbl_decode(const u8 *r, u64 *id, u32 *cls)
{
	if (mcai_le32(r) != LBL_MAGIC || mcai_le32(r + 20) ||
	    mcai_le32(r + 16) != mcai_crc32c(0, r, 16))
		return false;
	*cls = mcai_le32(r + 4);
	*id = mcai_le64(r + 8);
	return *cls <= MCAI_SAMPLES_MAX_CLASS;
}

/* ---- loading ---------------------------------------------------------- */

/* The file from @from to its end (*@size bytes, maybe 0). */
static int read_whole(int fd, u64 from, u8 **out, u64 *size)
{
	struct stat sb;
	u8 *buf;
	u64 got = 0, len;

	if (fstat(fd, &sb))
		return -errno;
	if ((u64)sb.st_size > MAX_SEG_FILE)
		return -EFBIG;
	len = (u64)sb.st_size > from ? (u64)sb.st_size - from : 0;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, from + got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -EIO;
		}
		got += r;
	}
	*out = buf;
	*size = got;
	return 0;
}

static int ent_push(struct mcai_samples *st, const struct mcai_sample_meta *m,
		    u64 seg, u64 off)
{
	if (st->n == st->cap) {
		u32 cap = st->cap ? st->cap * 2 : 256;
		void *p = realloc(st->ent, (size_t)cap * sizeof(*st->ent));

		if (!p)
			return -ENOMEM;
		st->ent = p;
		st->cap = cap;
	}
	st->ent[st->n].m = *m;
	st->ent[st->n].seg = seg;
	st->ent[st->n].off = off;
	st->n++;
	return 0;
}

static int seg_push(struct mcai_samples *st, u64 no, u64 size)
{
	if (st->nsegs == st->segs_cap) {
		u32 cap = st->segs_cap ? st->segs_cap * 2 : 16;
		void *p = realloc(st->segs, (size_t)cap * sizeof(*st->segs));

		if (!p)
			return -ENOMEM;
		st->segs = p;
		st->segs_cap = cap;
	}
	st->segs[st->nsegs].no = no;
	st->segs[st->nsegs].size = size;
	st->nsegs++;
	return 0;
}

/*
 * Check every record of segment @no; the valid end of the last good
 * record is returned in @end (the current segment is truncated there).
 */
/*
 * Check the records of segment @no from offset @from (a valid end already
 * indexed) to the end of the file; *@end returns the end of the last good
 * record, *@fsize the file's size.
 */
static int seg_scan(struct mcai_samples *st, u64 no, u64 from, u64 *end,
		    u64 *fsize)
{
	struct stat sb;
	char name[64];
	u8 *buf = NULL;
	u64 size = 0, off = 0;
	int fd, r;

	snprintf(name, sizeof(name), SEG_FMT, no);
	fd = openat(st->dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		r = -errno;
		close(fd);
		return r;
	}
	/* what was checked before need not be read again */
	r = read_whole(fd, from, &buf, &size);
	close(fd);
	if (r)
		return r;
	*end = from;
	*fsize = sb.st_size;
	while (off < size) {
		struct mcai_sample_meta m;
		enum smp_verdict v = smp_decode(buf + off, size - off, &m);

		if (v == SMP_OK && m.id < st->next_id)
			v = SMP_BAD;	/* ids only grow: a stale copy */
		if (v == SMP_OK) {
			r = ent_push(st, &m, no, from + off);
			if (r)
				goto out;
			st->next_id = m.id + 1;
			off += MCAI_SAMPLES_HDR + m.input_len;
			*end = from + off;
			continue;
		}
		if (v == SMP_TORN) {
			st->st.torn++;
			break;
		}
		/* resynchronise on the next record that checks out */
		st->st.corrupt++;
		for (off++; size - off >= MCAI_SAMPLES_HDR; off++) {
			if (mcai_le32(buf + off) == SMP_MAGIC &&
			    smp_decode(buf + off, size - off, &m) == SMP_OK)
				break;
		}
		if (size - off < MCAI_SAMPLES_HDR)
			break;
	}
	r = 0;
out:
	free(buf);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static struct mcai_sample_ent *ent_find(struct mcai_samples *st, u64 id)
{
	u32 lo = 0, hi = st->n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (st->ent[mid].m.id == id)
			return &st->ent[mid];
		if (st->ent[mid].m.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void ent_set_label(struct mcai_samples *st, struct mcai_sample_ent *e,
			  s32 cls)
{
	if (e->m.label == MCAI_SAMPLES_NO_LABEL && cls >= 0)
		st->labelled++;
	e->m.label = cls;
}

/* Forget the oldest @drop segments and their samples (index only). */
static u32 drop_front(struct mcai_samples *st, u32 drop)
{
	u32 k = 0, i;

	if (!drop)
		return 0;
	while (k < st->n && (drop >= st->nsegs ||
			     st->ent[k].seg < st->segs[drop].no)) {
		if (st->ent[k].m.label >= 0)
			st->labelled--;
		k++;
	}
	if (st->rfd >= 0) {
		close(st->rfd);
		st->rfd = -1;
	}
	memmove(st->ent, st->ent + k, (size_t)(st->n - k) * sizeof(*st->ent));
	st->n -= k;
	for (i = 0; i + drop < st->nsegs; i++)
		st->segs[i] = st->segs[i + drop];
	st->nsegs -= drop;
	return k;
}

/* The segment numbers in the directory, sorted. */
static int seg_list(struct mcai_samples *st, u64 **out, u32 *count)
{
	u64 *nos = NULL;
	u32 nn = 0, ncap = 0;
	struct dirent *de;
	int fd = dup(st->dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		int r = -errno;

		if (fd >= 0)
			close(fd);
		return r;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		unsigned long long no;
		char tail;

		if (strlen(de->d_name) != 24 ||
		    sscanf(de->d_name, "seg-%16llx.sm%c", &no, &tail) != 2 ||
		    tail != 'p')
			continue;
		if (nn == ncap) {
			void *p;

			ncap = ncap ? ncap * 2 : 16;
			p = realloc(nos, ncap * sizeof(*nos));
			if (!p) {
				free(nos);
				closedir(d);
				return -ENOMEM;
			}
			nos = p;
		}
		nos[nn++] = no;
	}
	closedir(d);
	if (nn)
		qsort(nos, nn, sizeof(*nos), cmp_u64);
	*out = nos;
	*count = nn;
	return 0;
}

/* Labels appended since the last look, or all of them after a compaction. */
static int labels_refresh(struct mcai_samples *st)
{
	struct stat sb;
	u8 *buf;
	u64 off, end, size;
	int fd;

	fd = openat(st->dfd, LABELS, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
	if (fd < 0 || fstat(fd, &sb) ||
	    ((sb.st_uid != st->duid || sb.st_gid != st->dgid) && own(st, fd))) {
		int r = -errno;

		if (fd >= 0)
			close(fd);
		return r;
	}
	if (st->lfd < 0 || sb.st_ino != st->lbl_ino ||
	    (u64)sb.st_size < st->lbl_off) {
		/* new, or rewritten by another process: read it all again */
		for (u32 i = 0; i < st->n; i++)
			st->ent[i].m.label = MCAI_SAMPLES_NO_LABEL;
		st->labelled = 0;
		st->lbl_off = 0;
		st->label_recs = 0;
		if (st->lfd >= 0)
			close(st->lfd);
		st->lfd = fd;
		st->lbl_ino = sb.st_ino;
	} else {
		close(fd);
	}
	size = (u64)sb.st_size - st->lbl_off;
	if (!size)
		return 0;
	if (size > MAX_SEG_FILE)
		return -EFBIG;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (off = 0; off < size;) {
		ssize_t r = pread(st->lfd, buf + off, size - off,
				  st->lbl_off + off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -EIO;
		}
		off += r;
	}
	for (off = 0, end = 0; off + MCAI_SAMPLES_LABEL_REC <= size;
	     off += MCAI_SAMPLES_LABEL_REC) {
		struct mcai_sample_ent *e;
		u64 id;
		u32 cls;

		end = off + MCAI_SAMPLES_LABEL_REC;
		if (!lbl_decode(buf + off, &id, &cls)) {
			st->st.corrupt++;
			continue;
		}
		st->label_recs++;
		e = ent_find(st, id);
		if (e)
			ent_set_label(st, e, (s32)cls);
	}
	free(buf);
	st->lbl_off += end;
	if (end != size) {
		/* we hold the lock: nobody is writing, this is a torn tail */
		st->st.torn++;
		if (ftruncate(st->lfd, st->lbl_off))
			return -errno;
	}
	return 0;
}

/*
 * Bring the index up to date with the directory, under the lock: other
 * processes may have appended, evicted or compacted since the last look.
 * A torn tail of the last segment is cut off (nobody writes while we
 * hold the lock, so it is a crashed writer's).
 */
static int refresh(struct mcai_samples *st)
{
	struct stat sb;
	u64 *nos = NULL, end, fsize;
	u32 nn = 0, k = 0, i;
	int r;

	r = seg_list(st, &nos, &nn);
	if (r)
		return r;
	/* evicted by someone else: only ever the oldest */
	while (k < st->nsegs &&
	       !bsearch(&st->segs[k].no, nos, nn, sizeof(*nos), cmp_u64))
		k++;
	st->st.evicted += drop_front(st, k);
	if (st->nsegs) {
		struct mcai_seg *l = &st->segs[st->nsegs - 1];

		r = seg_scan(st, l->no, l->size, &end, &fsize);
		if (!r && fsize < l->size) {
			/* shorter than what we checked: check it all again */
			u64 first = 0;

			while (st->n && st->ent[st->n - 1].seg == l->no) {
				first = st->ent[st->n - 1].m.id;
				if (st->ent[st->n - 1].m.label >= 0)
					st->labelled--;
				st->n--;
			}
			if (first)
				st->next_id = first;
			r = seg_scan(st, l->no, 0, &end, &fsize);
		}
		if (r)
			goto out;
		l->size = end;
	}
	for (i = 0; i < nn; i++) {
		if (st->nsegs && nos[i] <= st->segs[st->nsegs - 1].no)
			continue;
		r = seg_scan(st, nos[i], 0, &end, &fsize);
		if (!r)
			r = seg_push(st, nos[i], end);
		if (r)
			goto out;
	}
	st->st.bytes = 0;
	for (i = 0; i < st->nsegs; i++)
		st->st.bytes += st->segs[i].size;
	if (st->nsegs) {
		struct mcai_seg *l = &st->segs[st->nsegs - 1];
		char name[64];

		if (st->wfd >= 0 && st->wseg != l->no) {
			close(st->wfd);
			st->wfd = -1;
		}
		snprintf(name, sizeof(name), SEG_FMT, l->no);
		if (st->wfd < 0) {
			st->wfd = openat(st->dfd, name,
					 O_WRONLY | O_APPEND | O_CLOEXEC);
			if (st->wfd < 0) {
				r = -errno;
				goto out;
			}
			st->wseg = l->no;
		}
		/* appends go here: a torn tail must not stay in front of them */
		if (fstat(st->wfd, &sb)) {
			r = -errno;
			goto out;
		}
		if ((u64)sb.st_size > l->size &&
		    (ftruncate(st->wfd, l->size) || fsync(st->wfd))) {
			r = -errno;
			goto out;
		}
	}
	r = labels_refresh(st);
out:
	free(nos);
	return r;
}

/*
 * Every operation that reads or changes the files runs between
 * st_begin() and st_end(): the directory's lock (waited for, a bounded
 * time: other holders keep it for one operation), then a refresh.
 */
#define LOCK_WAIT_MS	10000

static int st_begin(struct mcai_samples *st)
{
	int r, waited = 0;

	if (st->depth++)
		return 0;
	while (flock(st->dfd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = -errno;
			goto fail;
		}
		if (waited >= LOCK_WAIT_MS) {
			r = -EWOULDBLOCK;
			goto fail;
		}
		usleep(10000);
		waited += 10;
	}
	r = refresh(st);
	if (!r)
		return 0;
	flock(st->dfd, LOCK_UN);
fail:
	st->depth--;
	return r;
}

static void st_end(struct mcai_samples *st)
{
	if (--st->depth)
		return;
	flock(st->dfd, LOCK_UN);
}

/* Rewrite labels.log with the live labels only (atomic replace). */
static int labels_compact(struct mcai_samples *st)
{
	struct iovec iov;
	struct stat sb;
	u8 *buf;
	u64 k = 0;
	u32 i;
	char err[256];
	int r, fd;

	buf = malloc((size_t)(st->labelled ? st->labelled : 1) *
		     MCAI_SAMPLES_LABEL_REC);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < st->n; i++) {
		if (st->ent[i].m.label < 0)
			continue;
		lbl_encode(buf + k * MCAI_SAMPLES_LABEL_REC, st->ent[i].m.id,
			   (u32)st->ent[i].m.label);
		k++;
	}
	iov.iov_base = buf;
	iov.iov_len = k * MCAI_SAMPLES_LABEL_REC;
	r = mcai_atomic_writev_at(st->dfd, LABELS, LABELS ".tmp", &iov, 1,
				  0600, NULL, NULL, err, sizeof(err));
	free(buf);
	if (r)
		return r;
	fd = openat(st->dfd, LABELS, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) || own(st, fd)) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(st->lfd);
	st->lfd = fd;
	st->lbl_ino = sb.st_ino;
	st->lbl_off = iov.iov_len;
	st->label_recs = k;
	return 0;
}

static int labels_maybe_compact(struct mcai_samples *st)
{
	if (st->label_recs > 2 * st->labelled + 1024)
		return labels_compact(st);
	return 0;
}

int mcai_samples_open(struct mcai_samples **out, const char *dir,
		      const struct mcai_samples_opts *o, char *err,
		      size_t errlen)
{
	struct mcai_samples *st;
	struct stat sb;
	int r;

	*out = NULL;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		r = -errno;
		serr(err, errlen, "%s: cannot create: %s", dir, strerror(-r));
		return r;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->wfd = st->rfd = st->lfd = -1;
	st->next_id = 1;
	if (o)
		st->o = *o;
	if (!st->o.max_bytes)
		st->o.max_bytes = DEF_MAX_BYTES;
	if (!st->o.segment_bytes)
		st->o.segment_bytes = st->o.max_bytes / 16;
	if (st->o.segment_bytes < MIN_SEG_BYTES)
		st->o.segment_bytes = MIN_SEG_BYTES;
	st->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dfd < 0 || fstat(st->dfd, &sb)) {
		r = -errno;
		serr(err, errlen, "%s: %s", dir, strerror(-r));
		goto fail;
	}
	st->duid = sb.st_uid;
	st->dgid = sb.st_gid;
	r = st_begin(st);
	if (r) {
		serr(err, errlen, "%s: %s", dir, r == -EWOULDBLOCK ?
		     "locked by another process for 10 s" : strerror(-r));
		goto fail;
	}
	r = labels_maybe_compact(st);
	st_end(st);
	if (r) {
		serr(err, errlen, "%s/%s: %s", dir, LABELS, strerror(-r));
		goto fail;
	}
	*out = st;
	return 0;
fail:
	mcai_samples_close(st);
	return r;
}

void mcai_samples_close(struct mcai_samples *st)
{
	if (!st)
		return;
	if (st->dirty)
		mcai_samples_sync(st);
	if (st->wfd >= 0)
		close(st->wfd);
	if (st->rfd >= 0)
		close(st->rfd);
	if (st->lfd >= 0)
		close(st->lfd);
	if (st->dfd >= 0)
		close(st->dfd);
	free(st->segs);
	free(st->ent);
	free(st);
}

/* ---- writing ---------------------------------------------------------- */

static int seg_roll(struct mcai_samples *st)
{
	u64 no = st->nsegs ? st->segs[st->nsegs - 1].no + 1 : 0;
	char name[64];
	int fd, r;

	if (st->wfd >= 0) {
		/* the old segment is complete: make it so on disk */
		if (fdatasync(st->wfd))
			return -errno;
		close(st->wfd);
		st->wfd = -1;
	}
	snprintf(name, sizeof(name), SEG_FMT, no);
	fd = openat(st->dfd, name,
		    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = own(st, fd);
	if (!r)
		r = seg_push(st, no, 0);
	if (r) {
		close(fd);
		return r;
	}
	st->wfd = fd;
	st->wseg = no;
	st->new_seg = true;
	return 0;
}

/* Drop the oldest segments while over max_bytes; never the current one. */
static int evict(struct mcai_samples *st)
{
	u64 bytes = st->st.bytes;
	u32 drop = 0;
	char name[64];

	while (bytes > st->o.max_bytes && st->nsegs - drop > 1) {
		snprintf(name, sizeof(name), SEG_FMT, st->segs[drop].no);
		if (unlinkat(st->dfd, name, 0) && errno != ENOENT)
			return -errno;
		bytes -= st->segs[drop].size;
		drop++;
	}
	if (!drop)
		return 0;
	st->st.evicted += drop_front(st, drop);
	st->st.bytes = bytes;
	if (fsync(st->dfd))
		return -errno;
	return labels_maybe_compact(st);
}

static int append_locked(struct mcai_samples *st,
			 const struct mcai_sample_meta *m, const s8 *input,
			 u64 *id)
{
	struct mcai_sample_meta rec = *m;
	u64 len = MCAI_SAMPLES_HDR + (u64)m->input_len, off;
	u8 *buf;
	int r;

	if (st->wfd < 0 || (st->segs[st->nsegs - 1].size &&
			    st->segs[st->nsegs - 1].size + len >
			    st->o.segment_bytes)) {
		r = seg_roll(st);
		if (r)
			return r;
	}
	rec.id = st->next_id;
	rec.label = MCAI_SAMPLES_NO_LABEL;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	smp_encode(buf, &rec, input);
	memcpy(buf + MCAI_SAMPLES_HDR, input, m->input_len);
	/* one write: after a crash, whole records and one torn tail at most */
	off = st->segs[st->nsegs - 1].size;
	r = mcai_write_full(st->wfd, buf, len);
	free(buf);
	if (r) {
		/* a partial write is a torn tail: cut it off now */
		if (ftruncate(st->wfd, off))
			return -errno;
		return r;
	}
	r = ent_push(st, &rec, st->segs[st->nsegs - 1].no, off);
	if (r)
		return r;
	st->segs[st->nsegs - 1].size += len;
	st->st.bytes += len;
	st->next_id++;
	st->dirty = true;
	if (id)
		*id = rec.id;
	return evict(st);
}

int mcai_samples_append(struct mcai_samples *st,
			const struct mcai_sample_meta *m, const s8 *input,
			u64 *id)
{
	int r;

	if (!m->input_len || m->input_len > MCAI_SAMPLES_MAX_INPUT)
		return -EINVAL;
	r = st_begin(st);
	if (r)
		return r;
	r = append_locked(st, m, input, id);
	st_end(st);
	return r;
}

int mcai_samples_sync(struct mcai_samples *st)
{
	if (st->wfd >= 0 && fdatasync(st->wfd))
		return -errno;
	if (st->new_seg && fsync(st->dfd))
		return -errno;
	st->new_seg = false;
	st->dirty = false;
	return 0;
}

int mcai_samples_label_many(struct mcai_samples *st, const u64 *ids,
			    const u32 *cls, size_t n, size_t *bad)
{
	u8 *buf;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (cls[i] > MCAI_SAMPLES_MAX_CLASS) {
			if (bad)
				*bad = i;
			return -ERANGE;
		}
	}
	if (!n)
		return 0;
	if (n > MAX_SEG_FILE / MCAI_SAMPLES_LABEL_REC)
		return -E2BIG;
	buf = malloc(n * MCAI_SAMPLES_LABEL_REC);
	if (!buf)
		return -ENOMEM;
	r = st_begin(st);
	if (r) {
		free(buf);
		return r;
	}
	/* all or nothing: every id first, under the lock */
	for (i = 0; i < n; i++) {
		if (!ent_find(st, ids[i])) {
			if (bad)
				*bad = i;
			r = -ENOENT;
			goto out;
		}
		lbl_encode(buf + i * MCAI_SAMPLES_LABEL_REC, ids[i], cls[i]);
	}
	/* one write: a crash leaves a prefix of whole records, a torn tail */
	r = mcai_write_full(st->lfd, buf, n * MCAI_SAMPLES_LABEL_REC);
	if (r)
		goto out;
	if (fdatasync(st->lfd)) {
		r = -errno;
		goto out;
	}
	st->lbl_off += n * MCAI_SAMPLES_LABEL_REC;
	st->label_recs += n;
	for (i = 0; i < n; i++)
		ent_set_label(st, ent_find(st, ids[i]), (s32)cls[i]);
	r = labels_maybe_compact(st);
out:
	st_end(st);
	free(buf);
	return r;
}

int mcai_samples_label(struct mcai_samples *st, u64 id, u32 cls)
{
	return mcai_samples_label_many(st, &id, &cls, 1, NULL);
}

int mcai_samples_refresh(struct mcai_samples *st)
{
	int r = st_begin(st);

	if (!r)
		st_end(st);
	return r;
}

/* ---- reading ---------------------------------------------------------- */

void mcai_samples_get_stats(const struct mcai_samples *st,
			    struct mcai_samples_stats *s)
{
	*s = st->st;
	s->samples = st->n;
	s->labelled = st->labelled;
	s->segments = st->nsegs;
}

const struct mcai_sample_meta *mcai_samples_at(const struct mcai_samples *st,
					       u32 i)
{
	return i < st->n ? &st->ent[i].m : NULL;
}

int mcai_samples_input(struct mcai_samples *st, u32 i, s8 *buf, u32 len)
{
	const struct mcai_sample_ent *e;
	u8 hdr[MCAI_SAMPLES_HDR];
	u64 got = 0;

	if (i >= st->n || len != st->ent[i].m.input_len)
		return -EINVAL;
	e = &st->ent[i];
	if (st->rfd < 0 || st->rseg != e->seg) {
		char name[64];

		if (st->rfd >= 0)
			close(st->rfd);
		snprintf(name, sizeof(name), SEG_FMT, e->seg);
		st->rfd = openat(st->dfd, name, O_RDONLY | O_CLOEXEC);
		if (st->rfd < 0)
			return -errno;
		st->rseg = e->seg;
	}
	/* checked at open, but the file may have changed since: check again */
	while (got < sizeof(hdr) + len) {
		ssize_t r;

		r = got < sizeof(hdr) ?
		    pread(st->rfd, hdr + got, sizeof(hdr) - got, e->off + got) :
		    pread(st->rfd, buf + (got - sizeof(hdr)),
			  sizeof(hdr) + len - got, e->off + got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += r;
	}
	if (mcai_le32(hdr) != SMP_MAGIC || mcai_le64(hdr + 8) != e->m.id ||
	    mcai_le32(hdr + 56) != len ||
	    mcai_crc32c(mcai_crc32c(0, hdr, 60), buf, len) !=
	    mcai_le32(hdr + 60))
		return -EBADMSG;
	return 0;
}

void mcai_samples_dataset_free(struct mcai_dataset *d)
{
	free(d->images);
	free(d->labels);
	memset(d, 0, sizeof(*d));
}

int mcai_samples_dataset(struct mcai_samples *st, struct mcai_dataset *d,
			 const struct mcai_samples_conv *c, u32 *skipped,
			 char *err, size_t errlen)
{
	u32 px = c->rows * c->cols, i, k = 0, bad = 0;
	s8 *q = NULL;
	int r = 0;

	memset(d, 0, sizeof(*d));
	if (skipped)
		*skipped = 0;
	if (!c->rows || !c->cols || px > MCAI_SAMPLES_MAX_INPUT ||
	    !c->classes || c->classes > MCAI_SAMPLES_MAX_CLASS + 1 ||
	    !(c->in_scale > 0) || !isfinite(c->in_scale) ||
	    c->in_zp < -128 || c->in_zp > 127) {
		serr(err, errlen, "bad dataset shape or input quantisation");
		return -EINVAL;
	}
	r = st_begin(st);
	if (r) {
		serr(err, errlen, "sample store: %s", strerror(-r));
		return r;
	}
	q = malloc(px);
	d->images = malloc((size_t)(st->labelled ? st->labelled : 1) * px);
	d->labels = malloc(st->labelled ? st->labelled : 1);
	if (!q || !d->images || !d->labels) {
		r = -ENOMEM;
		serr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < st->n; i++) {
		const struct mcai_sample_meta *m = &st->ent[i].m;
		u8 *img = d->images + (size_t)k * px;

		if (m->label < 0 || (c->model_id && m->model_id != c->model_id))
			continue;
		if (m->input_len != px || (u32)m->label >= c->classes) {
			bad++;
			continue;
		}
		r = mcai_samples_input(st, i, q, px);
		if (r) {
			serr(err, errlen, "sample %llu: %s", m->id,
			     strerror(-r));
			goto out;
		}
		for (u32 j = 0; j < px; j++) {
			long p = lrintf(255.0f * c->in_scale *
					(float)(q[j] - c->in_zp));

			img[j] = (u8)(p < 0 ? 0 : p > 255 ? 255 : p);
		}
		d->labels[k++] = (u8)m->label;
	}
	if (!k) {
		r = -ENODATA;
		serr(err, errlen, "no labelled %ux%u sample with a class below %u%s",
		     c->rows, c->cols, c->classes,
		     bad ? " (some were refused: other size or class)" : "");
		goto out;
	}
	d->count = k;
	d->rows = c->rows;
	d->cols = c->cols;
	if (skipped)
		*skipped = bad;
out:
	st_end(st);
	free(q);
	if (r)
		mcai_samples_dataset_free(d);
	return r;
}

void mcai_samples_vectors_free(struct mcai_samples_vecs *v)
{
	free(v->inputs);
	free(v->labels);
	memset(v, 0, sizeof(*v));
}

int mcai_samples_vectors(struct mcai_samples *st, struct mcai_samples_vecs *v,
			 const struct mcai_samples_sel *c, u32 *skipped,
			 char *err, size_t errlen)
{
	u32 i, k = 0, bad = 0;
	int r;

	memset(v, 0, sizeof(*v));
	if (skipped)
		*skipped = 0;
	if (!c->len || c->len > MCAI_SAMPLES_MAX_INPUT || !c->classes ||
	    c->classes > MCAI_SAMPLES_MAX_CLASS + 1) {
		serr(err, errlen, "bad input length or class count");
		return -EINVAL;
	}
	r = st_begin(st);
	if (r) {
		serr(err, errlen, "sample store: %s", strerror(-r));
		return r;
	}
	v->inputs = malloc((size_t)(st->labelled ? st->labelled : 1) * c->len);
	v->labels = malloc(st->labelled ? st->labelled : 1);
	if (!v->inputs || !v->labels) {
		r = -ENOMEM;
		serr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < st->n && k < st->labelled; i++) {
		const struct mcai_sample_meta *m = &st->ent[i].m;

		if (m->label < 0 || (c->model_id && m->model_id != c->model_id))
			continue;
		if (m->input_len != c->len || (u32)m->label >= c->classes) {
			bad++;
			continue;
		}
		/* the int8 input as the module saw it: no conversion */
		r = mcai_samples_input(st, i, v->inputs + (size_t)k * c->len,
				       c->len);
		if (r) {
			serr(err, errlen, "sample %llu: %s",
			     (unsigned long long)m->id, strerror(-r));
			goto out;
		}
		v->labels[k++] = (u8)m->label;
	}
	if (!k) {
		r = -ENODATA;
		serr(err, errlen, "no labelled sample of %u inputs with a class below %u%s",
		     c->len, c->classes,
		     bad ? " (some were refused: other size or class)" : "");
		goto out;
	}
	v->count = k;
	v->len = c->len;
	if (skipped)
		*skipped = bad;
out:
	st_end(st);
	if (r)
		mcai_samples_vectors_free(v);
	return r;
}

/* ---- the module's mirror ---------------------------------------------- */

#define DRAIN_BUF	(1U << 20)

int mcai_samples_drain(struct mcai_samples *st, int dev_fd, u64 max,
		       u64 *added, u64 *dropped, char *err, size_t errlen)
{
	struct mcai_mirror_read rd;
	u64 n = 0;
	u8 *buf;
	int r = 0;

	if (added)
		*added = 0;
	/* the common case on a daemon's tick: nothing queued, no store work */
	memset(&rd, 0, sizeof(rd));
	rd.size = sizeof(rd);
	if (ioctl(dev_fd, MCAI_IOC_MIRROR_READ, &rd)) {
		r = -errno;
		serr(err, errlen, "MCAI_IOC_MIRROR_READ: %s%s", strerror(-r),
		     r == -EPERM ? " (needs CAP_SYS_ADMIN)" :
		     r == -EOPNOTSUPP || r == -ENOTTY ?
		     " (module without the mirror)" : "");
		return r;
	}
	if (dropped)
		*dropped = rd.dropped;
	if (!rd.queued)
		return 0;
	buf = malloc(DRAIN_BUF);
	if (!buf)
		return -ENOMEM;
	r = st_begin(st);
	if (r) {
		free(buf);
		serr(err, errlen, "sample store: %s", r == -EWOULDBLOCK ?
		     "locked by another process" : strerror(-r));
		return r;
	}
	for (;;) {
		u32 off = 0;

		memset(&rd, 0, sizeof(rd));
		rd.size = sizeof(rd);
		rd.buf_ptr = (uintptr_t)buf;
		rd.buf_len = DRAIN_BUF;
		if (ioctl(dev_fd, MCAI_IOC_MIRROR_READ, &rd)) {
			r = -errno;
			serr(err, errlen, "MCAI_IOC_MIRROR_READ: %s%s",
			     strerror(-r), r == -EPERM ?
			     " (needs CAP_SYS_ADMIN)" : r == -EOPNOTSUPP ||
			     r == -ENOTTY ? " (module without the mirror)" : "");
			break;
		}
		if (dropped)
			*dropped = rd.dropped;
		if (rd.bytes > DRAIN_BUF) {
			r = -EPROTO;
			serr(err, errlen, "mirror read returned %u bytes",
			     rd.bytes);
			break;
		}
		for (u32 i = 0; i < rd.n_records; i++) {
			struct mcai_mirror_record h;
			struct mcai_sample_meta m;

			if (rd.bytes - off < sizeof(h)) {
				r = -EPROTO;
				break;
			}
			memcpy(&h, buf + off, sizeof(h));
			if (h.rec_len < sizeof(h) + h.input_len ||
			    h.rec_len > rd.bytes - off || !h.input_len ||
			    h.input_len > MCAI_SAMPLES_MAX_INPUT) {
				r = -EPROTO;
				break;
			}
			memset(&m, 0, sizeof(m));
			m.timestamp_ns = h.timestamp_ns;
			m.kernel_seq = h.sample_seq;
			m.model_id = h.model_id;
			m.version = h.version;
			m.session_id = h.session_id;
			m.class_id = h.class_id;
			m.score = h.score;
			m.flags = h.flags;
			m.input_len = h.input_len;
			r = append_locked(st, &m,
					  (const s8 *)buf + off + sizeof(h),
					  NULL);
			if (r)
				break;
			off += h.rec_len;
			n++;
		}
		if (r) {
			if (r == -EPROTO)
				serr(err, errlen, "malformed mirror record");
			else
				serr(err, errlen, "appending: %s", strerror(-r));
			break;
		}
		if (!rd.n_records || (max && n >= max))
			break;
	}
	free(buf);
	if (!r && n)
		r = mcai_samples_sync(st);
	st_end(st);
	if (added)
		*added = n;
	return r;
}

/* ---- the node daemon's calls ------------------------------------------ */

int mcai_samples_node_drain(struct mcai_samples **st, const char *dir,
			    int dev_fd, u64 *added, char *err, size_t errlen)
{
	int r;

	if (!*st) {
		r = mcai_samples_open(st, dir, NULL, err, errlen);
		if (r)
			return r;
	}
	return mcai_samples_drain(*st, dev_fd, 0, added, NULL, err, errlen);
}

int mcai_samples_node_load(struct mcai_dataset *d, const char *dir,
			   char *err, size_t errlen)
{
	static const struct mcai_samples_conv fmnist = {
		.rows = 28, .cols = 28, .classes = 10,
		.in_scale = 1.0f / 255.0f, .in_zp = -128,
	};
	struct mcai_samples *st;
	int r;

	r = mcai_samples_open(&st, dir, NULL, err, errlen);
	if (r)
		return r;
	r = mcai_samples_dataset(st, d, &fmnist, NULL, err, errlen);
	mcai_samples_close(st);
	return r;
}

int mcai_samples_node_vectors(struct mcai_samples_vecs *v, const char *dir,
			      const struct mcai_samples_sel *c, u32 *skipped,
			      char *err, size_t errlen)
{
	struct mcai_samples *st;
	int r;

	r = mcai_samples_open(&st, dir, NULL, err, errlen);
	if (r)
		return r;
	r = mcai_samples_vectors(st, v, c, skipped, err, errlen);
	mcai_samples_close(st);
	return r;
}
