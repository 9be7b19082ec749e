/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A thin library over /dev/mcai (uapi/mcai.h), shared by mcaictl and mcaid.
 *
 * Every call fills in the structure's size, zeroes reserved fields, and on
 * failure returns -errno and leaves a message in the handle that says what
 * went wrong in terms of the request ("no model named x", "loading models
 * needs CAP_SYS_ADMIN", ...) rather than a bare strerror().  Nothing here
 * prints or exits.
 */
#ifndef MCAI_DEVICE_H
#define MCAI_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "models/engine/port.h"
#include "uapi/mcai.h"

#define MCAI_DEVICE_DEFAULT	"/dev/" MCAI_DEVICE_NAME
#define MCAI_DEVICE_ENV		"MCAI_DEVICE"
#define MCAI_DEV_MSG_LEN	384

struct mcai_dev {
	int fd;
	char path[256];
	char msg[MCAI_DEV_MSG_LEN];	/* why the last call failed */
};

/* A model selector: by id when id != 0, else by name. */
struct mcai_sel {
	u32 id;
	const char *name;
};

/* The result of MCAI_IOC_MODEL_LOAD. */
struct mcai_load_reply {
	u32 model_id;
	u32 version;			/* now active */
	u32 replaced_version;		/* 0 when the name was new */
	u32 err_offset;			/* refusals: the byte at fault */
	char reason[MCAI_REASON_LEN];	/* refusals: the kernel's words */
};

/* The result of MCAI_IOC_INFER. */
struct mcai_infer_reply {
	s32 class_id;
	u32 version;
	u32 scores_len;
};

/* @path, else $MCAI_DEVICE, else /dev/mcai. */
const char *mcai_dev_path(const char *path);

/* Open the device; @path as for mcai_dev_path().  0 or -errno. */
int mcai_dev_open(struct mcai_dev *d, const char *path);
void mcai_dev_close(struct mcai_dev *d);
/* The message of the last failure. */
const char *mcai_dev_error(const struct mcai_dev *d);

int mcai_dev_get_info(struct mcai_dev *d, struct mcai_info *info);

/*
 * Load a blob (flags: MCAI_LOAD_*).  On a refusal the kernel's reason and
 * offset are in @r as well as in the message.
 */
int mcai_dev_load(struct mcai_dev *d, const void *blob, u32 size, u32 flags,
		  struct mcai_load_reply *r);
int mcai_dev_unload(struct mcai_dev *d, struct mcai_sel sel);
int mcai_dev_model_info(struct mcai_dev *d, struct mcai_sel sel,
			struct mcai_model_info *mi);

/*
 * The ids of the loaded models, in the kernel's order, in a malloc'd
 * array (*ids is NULL when there are none; free() it).
 */
int mcai_dev_list(struct mcai_dev *d, u32 **ids, u32 *count);

/*
 * One synchronous inference.  @scores may be NULL (then @scores_cap is
 * ignored); otherwise it must hold the model's output_len scores.
 */
int mcai_dev_infer(struct mcai_dev *d, struct mcai_sel sel, const s8 *input,
		   u32 input_len, s8 *scores, u32 scores_cap,
		   struct mcai_infer_reply *r);

/*
 * Drift statistics of a model (MCAI_IOC_MODEL_STATS): means and variances
 * in Q16.16 quantised input units, the class histogram, in malloc'd
 * arrays of n_features / n_classes entries (free with
 * mcai_stats_reply_free()).  @reset clears them after reading (needs
 * CAP_SYS_ADMIN).
 */
struct mcai_stats_reply {
	u32 n_features;
	u32 n_classes;
	u64 samples;
	u64 shed;
	u64 deadline_misses;
	u64 energy_uj;
	u32 energy_source;		/* MCAI_ENERGY_*: what the budget uses */
	u64 mpj_per_mac;		/* its energy per MAC, 1/1000 pJ */
	s32 *mean;
	u32 *var;
	u64 *hist;
};

int mcai_dev_model_stats(struct mcai_dev *d, struct mcai_sel sel, bool reset,
			 struct mcai_stats_reply *r);
void mcai_stats_reply_free(struct mcai_stats_reply *r);

/*
 * Measured energy per MAC (1/1000 pJ) for a model's budget
 * (MCAI_IOC_MODEL_ENERGY, CAP_SYS_ADMIN); MCAI_ENERGY_ESTIMATE with 0
 * goes back to the module's estimate.
 */
int mcai_dev_set_energy(struct mcai_dev *d, struct mcai_sel sel, u32 source,
			u64 mpj_per_mac);

/*
 * Create a pipeline owned by this handle's file (it lives until
 * mcai_dev_close()).  @req is filled by the caller but for size; on
 * success req->pipeline_id is set.
 */
int mcai_dev_pipeline_create(struct mcai_dev *d,
			     struct mcai_pipeline_create *req);

/*
 * One synchronous inference through a pipeline (by id when sel.id != 0,
 * else by name); *@flags gets the result's MCAI_RES_* flags.  @scores
 * must hold the pipeline's widest output.
 */
int mcai_dev_infer_pipeline(struct mcai_dev *d, struct mcai_sel sel,
			    const s8 *input, u32 input_len, s8 *scores,
			    u32 scores_cap, struct mcai_infer_reply *r,
			    u32 *flags);

/* A valid model name: 1..31 bytes of [A-Za-z0-9_.-]. */
bool mcai_name_valid(const char *name);

/*
 * Parse a model selector as the command line gives it: "id:N" selects by
 * id, anything else is a name.  Returns 0, or -1 with a message in @err.
 */
int mcai_sel_parse(struct mcai_sel *sel, const char *arg, char *err,
		   size_t errlen);
/* "model NAME" / "model id N", for messages. */
const char *mcai_sel_str(struct mcai_sel sel, char *buf, size_t len);

/* Feature bit names ("sync-infer", ...) or NULL for an unknown bit. */
const char *mcai_feature_name(unsigned int bit);

#endif /* MCAI_DEVICE_H */
