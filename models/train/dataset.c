// SPDX-License-Identifier: GPL-2.0
/*
 * IDX reader (MNIST / Fashion-MNIST).  zlib's gzread reads gzip files and,
 * transparently, plain ones.  Layout: a big-endian u32 magic 0x000008NN
 * (0x08 = unsigned byte, NN = number of dimensions), NN big-endian u32
 * dimensions, then the data; nothing may follow it.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "models/train/dataset.h"

#define IDX_IMAGES_MAGIC	0x00000803U
#define IDX_LABELS_MAGIC	0x00000801U
/* Sanity caps: far above any IDX data set, far below overflow. */
#define IDX_MAX_SIDE		4096U
#define IDX_MAX_BYTES		(1ULL << 32)

/* gzread into @buf, failing on a short read or a zlib error. */
static int idx_read(gzFile f, const char *path, void *buf, size_t len,
		    const char *what, char *err, size_t errlen)
{
	u8 *p = buf;

	while (len) {
		unsigned chunk = len > (1U << 30) ? (1U << 30) : (unsigned)len;
		int n = gzread(f, p, chunk);

		if (n < 0) {
			int zerr;
			const char *msg = gzerror(f, &zerr);

			snprintf(err, errlen, "%s: reading %s: %s", path, what,
				 zerr == Z_ERRNO ? strerror(errno) : msg);
			return -1;
		}
		if (n == 0) {
			snprintf(err, errlen, "%s: truncated (%s ends early)",
				 path, what);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static u32 be32(const u8 *b)
{
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

/*
 * Read one IDX file of @ndims dimensions into a malloc'd buffer; dims[]
 * receives the dimensions.  Returns the data or NULL with @err set.
 */
static u8 *idx_load(const char *path, u32 magic, u32 ndims, u32 *dims,
		    char *err, size_t errlen)
{
	u8 hdr[4 * 4], extra;
	u64 bytes = 1;
	u8 *data = NULL;
	gzFile f;
	u32 i, m;
	int n;

	errno = 0;
	f = gzopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 errno ? strerror(errno) : "out of memory");
		return NULL;
	}
	if (idx_read(f, path, hdr, 4 * (1 + ndims), "header", err, errlen))
		goto fail;
	m = be32(hdr);
	if (m != magic) {
		snprintf(err, errlen,
			 "%s: bad IDX magic 0x%08x (expected 0x%08x: %s)", path,
			 m, magic,
			 magic == IDX_IMAGES_MAGIC ? "u8 images, 3 dimensions" :
						     "u8 labels, 1 dimension");
		goto fail;
	}
	for (i = 0; i < ndims; i++) {
		dims[i] = be32(hdr + 4 * (i + 1));
		if (dims[i] == 0) {
			snprintf(err, errlen, "%s: dimension %u is zero", path, i);
			goto fail;
		}
		if (i > 0 && dims[i] > IDX_MAX_SIDE) {
			snprintf(err, errlen, "%s: dimension %u is %u (max %u)",
				 path, i, dims[i], IDX_MAX_SIDE);
			goto fail;
		}
		bytes *= dims[i];
		if (bytes > IDX_MAX_BYTES || bytes > SIZE_MAX) {
			snprintf(err, errlen, "%s: implausibly large (%u items)",
				 path, dims[0]);
			goto fail;
		}
	}
	data = malloc((size_t)bytes);
	if (!data) {
		snprintf(err, errlen, "%s: out of memory for %llu bytes", path,
			 (unsigned long long)bytes);
		goto fail;
	}
	if (idx_read(f, path, data, (size_t)bytes, "data", err, errlen))
		goto fail;
	/* The file must end exactly here. */
	n = gzread(f, &extra, 1);
	if (n != 0) {
		if (n < 0) {
			int zerr;
			const char *msg = gzerror(f, &zerr);

			snprintf(err, errlen, "%s: reading past the data: %s", path,
				 zerr == Z_ERRNO ? strerror(errno) : msg);
		} else {
			snprintf(err, errlen,
				 "%s: trailing bytes after %llu bytes of data",
				 path, (unsigned long long)bytes);
		}
		goto fail;
	}
	n = gzclose(f);
	if (n != Z_OK) {
		snprintf(err, errlen, "%s: close failed (zlib error %d)", path, n);
		free(data);
		return NULL;
	}
	return data;
fail:
	free(data);
	gzclose(f);
	return NULL;
}

int mcai_dataset_load(struct mcai_dataset *d, const char *images,
		      const char *labels, char *err, size_t errlen)
{
	u32 idims[3], ldims[1];
	u8 *img, *lab = NULL;

	memset(d, 0, sizeof(*d));
	if (!images) {
		snprintf(err, errlen, "no image file given");
		return -1;
	}
	img = idx_load(images, IDX_IMAGES_MAGIC, 3, idims, err, errlen);
	if (!img)
		return -1;
	if (labels) {
		lab = idx_load(labels, IDX_LABELS_MAGIC, 1, ldims, err, errlen);
		if (!lab) {
			free(img);
			return -1;
		}
		if (ldims[0] != idims[0]) {
			snprintf(err, errlen, "%s: %u labels but %s has %u images",
				 labels, ldims[0], images, idims[0]);
			free(img);
			free(lab);
			return -1;
		}
	}
	d->count = idims[0];
	d->rows = idims[1];
	d->cols = idims[2];
	d->images = img;
	d->labels = lab;
	return 0;
}

void mcai_dataset_free(struct mcai_dataset *d)
{
	if (!d)
		return;
	free(d->images);
	free(d->labels);
	memset(d, 0, sizeof(*d));
}

/* DIR/NAME.gz, or DIR/NAME when only the uncompressed file exists. */
static int idx_path(char *p, size_t len, const char *dir, const char *split,
		    const char *what)
{
	if ((size_t)snprintf(p, len, "%s/%s-%s.gz", dir, split, what) >= len)
		return -1;
	if (access(p, F_OK) == 0)
		return 0;
	snprintf(p, len, "%s/%s-%s", dir, split, what);
	if (access(p, F_OK) == 0)
		return 0;
	/* Neither: the error names the file the distributions ship. */
	snprintf(p, len, "%s/%s-%s.gz", dir, split, what);
	return 0;
}

int mcai_dataset_load_split(struct mcai_dataset *d, const char *dir,
			    const char *split, u32 classes, char *err,
			    size_t errlen)
{
	char ip[PATH_MAX], lp[PATH_MAX];
	u32 i;

	memset(d, 0, sizeof(*d));
	if (idx_path(ip, sizeof(ip), dir, split, "images-idx3-ubyte") ||
	    idx_path(lp, sizeof(lp), dir, split, "labels-idx1-ubyte")) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (mcai_dataset_load(d, ip, lp, err, errlen))
		return -1;
	for (i = 0; i < d->count; i++)
		if (d->labels[i] >= classes) {
			snprintf(err, errlen,
				 "%s: label %u of item %u is not a class 0..%u",
				 lp, d->labels[i], i, classes - 1);
			mcai_dataset_free(d);
			return -1;
		}
	return 0;
}
