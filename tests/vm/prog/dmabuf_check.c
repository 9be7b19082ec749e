// SPDX-License-Identifier: GPL-2.0
/*
 * MCAI_IOC_INFER_DMABUF on a udmabuf (kmod/dmabuf.c): Fashion-MNIST test
 * images quantised into a sealed memfd, turned into a dma-buf by
 * /dev/udmabuf, run as frames in three layouts (packed from offset 0, at
 * an odd offset with padding between frames, overlapping windows one
 * image row apart) and compared, class and every score byte, with
 * MCAI_IOC_INFER on the same bytes; then every hostile request must fail
 * with its own errno.  Exit 0 pass, 1 fail, 77 skip (no /dev/udmabuf).
 *
 * usage: dmabuf_check BLOB [DATASET_DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/udmabuf.h>

#include "models/engine/verify.h"
#include "models/train/dataset.h"
#include "models/train/quant.h"
#include "models/train/writer.h"
#include "tests/vm/prog/report.h"

#define BUF_SIZE	(1024 * 1024)	/* 1 MiB: 1337 images' worth */

static int dev = -1;
static u32 model_id, in_len, out_len;
static s8 *data;			/* what the memfd holds */

/* INFER_DMABUF on @dfd: @e the errno it must fail with, 0 success. */
static int dmabuf_infer(int dfd, u64 off, u64 stride, u32 frames, s32 *cls,
			s8 *scores, u32 scores_len, u32 version_out[1])
{
	struct mcai_infer_dmabuf r = {
		.size = sizeof(r),
		.ref.model_id = model_id,
		.fd = dfd,
		.frames = frames,
		.offset = off,
		.stride = stride,
		.classes_ptr = (uintptr_t)cls,
		.scores_ptr = (uintptr_t)scores,
		.input_len = in_len,
		.scores_len = scores_len,
	};
	int ret = ioctl(dev, MCAI_IOC_INFER_DMABUF, &r);

	if (!ret && version_out)
		version_out[0] = r.version;
	if (!ret && scores && r.scores_len != frames * out_len)
		fail("scores_len %u, want %u", r.scores_len, frames * out_len);
	return ret ? errno : 0;
}

/* @frames frames at @off, @stride apart, against MCAI_IOC_INFER. */
static void layout(int dfd, const char *what, u64 off, u64 stride, u32 frames)
{
	u64 step = stride ? stride : in_len;
	s32 *cls = calloc(frames, sizeof(*cls));
	s8 *sc = calloc(frames, out_len), *one = malloc(out_len);
	u32 i, bad = 0, ver = 0;
	int e;

	if (!cls || !sc || !one) {
		fail("%s: out of memory", what);
		goto out;
	}
	e = dmabuf_infer(dfd, off, stride, frames, cls, sc,
			 frames * out_len, &ver);
	if (e) {
		fail("%s: INFER_DMABUF: %s", what, strerror(e));
		goto out;
	}
	for (i = 0; i < frames; i++) {
		struct mcai_infer inf = {
			.size = sizeof(inf),
			.ref.model_id = model_id,
			.input_ptr = (uintptr_t)(data + off + i * step),
			.input_len = in_len,
			.scores_ptr = (uintptr_t)one,
			.scores_len = out_len,
		};

		if (ioctl(dev, MCAI_IOC_INFER, &inf)) {
			fail("%s: INFER %u: %s", what, i, strerror(errno));
			goto out;
		}
		if (inf.class_id != cls[i] ||
		    memcmp(one, sc + (size_t)i * out_len, out_len)) {
			if (bad++ < 3)
				fail("%s: frame %u: class %d by dma-buf, %d by INFER",
				     what, i, cls[i], inf.class_id);
		}
		if (inf.version != ver)
			fail("%s: version %u vs %u", what, ver, inf.version);
	}
	if (bad)
		fail("%s: %u of %u frames differ", what, bad, frames);
	else
		printf("dmabuf_check: %s: %u frames bit-exact with INFER\n",
		       what, frames);
out:
	free(cls);
	free(sc);
	free(one);
}

#define EXPECT(e, call, what) do {					\
	int got_ = (call);						\
	if (got_ != (e))						\
		fail("%s: got %s, want %s", (what),			\
		     got_ ? strerror(got_) : "success", strerror(e));	\
} while (0)

static void hostile(int dfd, int memfd)
{
	struct mcai_infer_dmabuf r = { .size = sizeof(r) };
	s32 cls[4];
	s8 sc[4 * 64];
	u32 saved = in_len, id = model_id;

	/* not a dma-buf, not an fd */
	EXPECT(EINVAL, dmabuf_infer(memfd, 0, 0, 1, cls, NULL, 0, NULL),
	       "a memfd");
	EXPECT(EINVAL, dmabuf_infer(dev, 0, 0, 1, cls, NULL, 0, NULL),
	       "/dev/mcai's fd");
	EXPECT(EBADF, dmabuf_infer(-1, 0, 0, 1, cls, NULL, 0, NULL), "fd -1");
	EXPECT(EBADF, dmabuf_infer(4000, 0, 0, 1, cls, NULL, 0, NULL),
	       "fd not open");
	/* the frame's format is not the model's */
	in_len = saved - 1;
	EXPECT(EMSGSIZE, dmabuf_infer(dfd, 0, 0, 1, cls, NULL, 0, NULL),
	       "input_len - 1");
	in_len = saved + 1;
	EXPECT(EMSGSIZE, dmabuf_infer(dfd, 0, 0, 1, cls, NULL, 0, NULL),
	       "input_len + 1");
	in_len = 0;
	EXPECT(EMSGSIZE, dmabuf_infer(dfd, 0, 0, 1, cls, NULL, 0, NULL),
	       "input_len 0");
	in_len = saved;
	/* counts */
	EXPECT(EINVAL, dmabuf_infer(dfd, 0, 0, 0, cls, NULL, 0, NULL),
	       "0 frames");
	EXPECT(EINVAL, dmabuf_infer(dfd, 0, 0, MCAI_DMABUF_MAX_FRAMES + 1,
				    NULL, NULL, 0, NULL), "too many frames");
	/* bounds: the last frame ends exactly at the end, or one byte past */
	EXPECT(0, dmabuf_infer(dfd, BUF_SIZE - in_len, 0, 1, cls, NULL, 0,
			       NULL), "the last frame at the end");
	EXPECT(ERANGE, dmabuf_infer(dfd, BUF_SIZE - in_len + 1, 0, 1, cls,
				    NULL, 0, NULL), "one byte past the end");
	EXPECT(ERANGE, dmabuf_infer(dfd, 0, BUF_SIZE / 3, 4, cls, NULL, 0,
				    NULL), "stride past the end");
	EXPECT(ERANGE, dmabuf_infer(dfd, BUF_SIZE, 0, 1, cls, NULL, 0, NULL),
	       "offset at the end");
	/* overflow of offset + (frames - 1) * stride + input_len */
	EXPECT(EOVERFLOW, dmabuf_infer(dfd, UINT64_MAX - 10, 0, 1, cls, NULL,
				       0, NULL), "offset near 2^64");
	EXPECT(EOVERFLOW, dmabuf_infer(dfd, 0, UINT64_MAX / 2, 3, cls, NULL,
				       0, NULL), "stride x frames overflows");
	EXPECT(EOVERFLOW, dmabuf_infer(dfd, 1ULL << 63, 1ULL << 62, 3, cls,
				       NULL, 0, NULL), "offset + stride overflows");
	/* scores buffer too small, results to unmapped memory */
	EXPECT(ENOSPC, dmabuf_infer(dfd, 0, 0, 4, cls, sc, 4 * out_len - 1,
				    NULL), "scores_len too small");
	EXPECT(EFAULT, dmabuf_infer(dfd, 0, 0, 4, (s32 *)8, NULL, 0, NULL),
	       "classes unmapped");
	EXPECT(EFAULT, dmabuf_infer(dfd, 0, 0, 4, NULL, (s8 *)8, 4 * out_len,
				    NULL), "scores unmapped");
	/* no such model */
	model_id = 0x7fffffff;
	EXPECT(ENOENT, dmabuf_infer(dfd, 0, 0, 1, cls, NULL, 0, NULL),
	       "unknown model");
	model_id = id;
	/* reserved fields and sizes */
	r.fd = dfd;
	r.frames = 1;
	r.input_len = in_len;
	r.ref.model_id = id;
	r.flags = 1;
	EXPECT(EINVAL, ioctl(dev, MCAI_IOC_INFER_DMABUF, &r) ? errno : 0,
	       "flags 1");
	r.flags = 0;
	r.pad = 1;
	EXPECT(EINVAL, ioctl(dev, MCAI_IOC_INFER_DMABUF, &r) ? errno : 0,
	       "pad 1");
	r.pad = 0;
	r.size = 8;
	EXPECT(EINVAL, ioctl(dev, MCAI_IOC_INFER_DMABUF, &r) ? errno : 0,
	       "size 8");
	r.size = sizeof(r);
	EXPECT(0, ioctl(dev, MCAI_IOC_INFER_DMABUF, &r) ? errno : 0,
	       "the same request, well formed");
	EXPECT(EFAULT, ioctl(dev, MCAI_IOC_INFER_DMABUF, NULL) ? errno : 0,
	       "NULL argument");
	printf("dmabuf_check: hostile requests refused (%d failures)\n",
	       failures);
}

int main(int argc, char **argv)
{
	struct mcai_model_load load = { .size = sizeof(load) };
	struct mcai_model_unload unload = { .size = sizeof(unload) };
	struct mcai_info info = { .size = sizeof(info) };
	struct udmabuf_create uc = { 0 };
	struct mcai_dataset ds = { 0 };
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	u32 blob_size = 0, i, j, n;
	char err[256];
	float in_scale;
	u8 *blob = NULL;
	int ub = -1, memfd = -1, dfd = -1, ret = 1;

	prog = "dmabuf_check";
	if (argc < 2) {
		fprintf(stderr, "usage: %s BLOB [DATASET_DIR]\n", argv[0]);
		return 1;
	}
	ub = open("/dev/udmabuf", O_RDWR);
	if (ub < 0) {
		printf("dmabuf_check: /dev/udmabuf: %s: skipped\n",
		       strerror(errno));
		return 77;
	}
	blob = mcai_blob_read(argv[1], MCAI_DEFAULT_MAX_BLOB, &blob_size, err,
			      sizeof(err));
	if (!blob) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (mcai_dataset_load_split(&ds, argc > 2 ? argv[2] : MCAI_FMNIST_DIR,
				    "t10k", 10, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	mcai_limits_default(&lim);
	if (mcai_verify(&m, blob, blob_size, &lim, &v)) {
		fprintf(stderr, "blob rejected in user space: %s\n", v.reason);
		goto out;
	}
	in_len = m.input_len;
	out_len = m.output_len;
	if (in_len != ds.rows * ds.cols || out_len > 64) {
		fprintf(stderr, "model %u -> %u does not fit the images\n",
			in_len, out_len);
		goto out;
	}
	memcpy(&in_scale, &m.input_scale, sizeof(in_scale));

	/* the images, quantised, one after another, then again */
	memfd = memfd_create("mcai-frames", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, BUF_SIZE)) {
		perror("memfd");
		goto out;
	}
	data = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		    0);
	if (data == MAP_FAILED) {
		perror("mmap");
		data = NULL;
		goto out;
	}
	n = BUF_SIZE / in_len;
	for (i = 0; i < n; i++)
		for (j = 0; j < in_len; j++)
			data[(size_t)i * in_len + j] =
				mcai_quantize(ds.images[(size_t)(i % ds.count) *
							in_len + j] / 255.0f,
					      in_scale, m.input_zp);
	for (j = (size_t)n * in_len; j < BUF_SIZE; j++)
		data[j] = (s8)j;
	/* udmabuf wants the memfd unable to shrink under it */
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		perror("F_SEAL_SHRINK");
		goto out;
	}
	uc.memfd = memfd;
	uc.flags = UDMABUF_FLAGS_CLOEXEC;
	uc.offset = 0;
	uc.size = BUF_SIZE;
	dfd = ioctl(ub, UDMABUF_CREATE, &uc);
	if (dfd < 0) {
		fail("UDMABUF_CREATE: %s", strerror(errno));
		goto out;
	}

	dev = open("/dev/mcai", O_RDWR);
	if (dev < 0) {
		perror("/dev/mcai");
		goto out;
	}
	if (ioctl(dev, MCAI_IOC_GET_INFO, &info) ||
	    !(info.features & MCAI_FEAT_DMABUF)) {
		fail("GET_INFO: no MCAI_FEAT_DMABUF");
		goto out;
	}
	load.blob_ptr = (uintptr_t)blob;
	load.blob_size = blob_size;
	if (ioctl(dev, MCAI_IOC_MODEL_LOAD, &load)) {
		fprintf(stderr, "load: %s: %s\n", strerror(errno), load.reason);
		goto out;
	}
	model_id = load.model_id;

	layout(dfd, "packed from 0", 0, 0, MCAI_DMABUF_MAX_FRAMES);
	layout(dfd, "offset 4109, stride 821", 4109, in_len + 37, 200);
	layout(dfd, "windows a row apart", 5, ds.cols, 64);
	layout(dfd, "the buffer's last frame", BUF_SIZE - in_len, 0, 1);
	hostile(dfd, memfd);
	unload.ref.model_id = model_id;
	if (ioctl(dev, MCAI_IOC_MODEL_UNLOAD, &unload))
		fail("unload: %s", strerror(errno));
	/* the model gone, the buffer still there */
	EXPECT(ENOENT, dmabuf_infer(dfd, 0, 0, 1, NULL, NULL, 0, NULL),
	       "after unload");
	ret = failures ? 1 : 0;
out:
	if (data)
		munmap(data, BUF_SIZE);
	if (dev >= 0)
		close(dev);
	if (dfd >= 0)
		close(dfd);
	if (memfd >= 0)
		close(memfd);
	close(ub);
	mcai_dataset_free(&ds);
	free(blob);
	return ret;
}
