/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IDX image/label files (MNIST, Fashion-MNIST), plain or gzip-compressed
 * (user space only).
 */
#ifndef MCAI_DATASET_H
#define MCAI_DATASET_H

#include "models/engine/port.h"

#define MCAI_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

struct mcai_dataset {
	u32 count;		/* images */
	u32 rows, cols;		/* each image is rows * cols bytes */
	u8 *images;		/* count * rows * cols, row major */
	u8 *labels;		/* count, or NULL when no label file given */
};

/*
 * Load @images (IDX3, u8) and optionally @labels (IDX1, u8, same count).
 * Returns 0, or -1 with a message naming the file and the problem in @err.
 */
int mcai_dataset_load(struct mcai_dataset *d, const char *images,
		      const char *labels, char *err, size_t errlen);
void mcai_dataset_free(struct mcai_dataset *d);

/*
 * Split @split ("train", "t10k") from @dir under the IDX names MNIST and
 * Fashion-MNIST use (gzip-compressed, or not), every label below @classes.
 * Returns 0, or -1 with a message in @err and nothing loaded.
 */
int mcai_dataset_load_split(struct mcai_dataset *d, const char *dir,
			    const char *split, u32 classes, char *err,
			    size_t errlen);

#endif /* MCAI_DATASET_H */
