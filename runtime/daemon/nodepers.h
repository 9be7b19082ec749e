/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mcaid, role node: personalisation (personal.mode = fedper | ditto,
 * runtime/fed/personal.h for the two methods).
 *
 * What the node keeps, in personal.dir (created 0700):
 *
 *   signer.key, signer.pub   the node's own Ed25519 key (made on the first
 *                            start, mcai_prov_keygen()): it signs the
 *                            personal versions and nothing else; the
 *                            fleet's trust store does not hold it, so a
 *                            personal version can never pass for a fleet
 *                            one, nor a fleet one be recorded as personal
 *   MODEL.state              FedPer's personal layers or Ditto's personal
 *                            model (mcai_pers_state_save(): atomic, with
 *                            its digest), written after every round
 *   MODEL-vNNNNNNNN.blob     each personal version's int8 blob, and
 *   ...blob.manifest         its manifest signed by the node's key:
 *                            strategy "fedper" or "ditto", version and
 *                            round those of the fleet version it was
 *                            built on, participants 1, accuracy the one
 *                            measured on the node's own data
 *   history/MODEL.history    the chain of personal versions, the format of
 *                            provenance.history (mcaictl history --dir
 *                            DIR/history --trust DIR/signer.pub MODEL)
 *
 * When a fleet version V arrives (after its signed manifest passed the
 * fleet's checks), the node builds personal version V: FedPer's is V's
 * shared layers with the node's personal ones, Ditto's the personal model
 * as last trained.  It measures both on its own data (the data
 * directory's test split weighted by the node's label mix, or its own
 * samples), quantises the personal one through the same writer as a fleet
 * version (mcai_fedmlp_blob(), calibrated on local samples), signs it,
 * checks it as any version is checked (mcai_prov_check() against the
 * node's own key and the personal history, with the blob itself) and
 * records it.  personal.install = personal loads it into /dev/mcai in
 * place of the fleet's; fleet (the default) leaves the fleet's running
 * and the operator picks one with `mcaictl verify --trust
 * DIR/signer.pub FILE` and `mcaictl load --force FILE`.
 */
#ifndef MCAI_NODEPERS_H
#define MCAI_NODEPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "models/train/mlp.h"
#include "runtime/daemon/config.h"
#include "runtime/fed/fedmlp.h"
#include "runtime/fed/personal.h"
#include "runtime/fed/proto.h"

struct mcai_nodepers;
struct mcai_dev;
struct mcai_model;

/* The node's training data as the trainer sees it. */
struct mcai_nodepers_data {
	struct mcai_mlp_data d;
	const u32 *idx;
	u32 count;
	const char *data_dir;	/* images: the test split is read from it */
	bool images;		/* Fashion-MNIST images, else the sample store */
};

/*
 * From the configuration: *out NULL when personal.mode is off.  Makes the
 * directory and the key, reads the personal history.  0 or -errno, logged.
 */
int mcai_nodepers_new(struct mcai_nodepers **out, const struct mcai_config *c);
void mcai_nodepers_free(struct mcai_nodepers *p);
enum mcai_pers_kind mcai_nodepers_kind(const struct mcai_nodepers *p);
/*
 * personal.install = personal and a personal version exists: the kernel
 * runs the personal versions (before the first, the fleet's).
 */
bool mcai_nodepers_installs(const struct mcai_nodepers *p);

/*
 * The model's shape is known (a version arrived): the personal layers
 * resolved against it, the saved state restored if it fits.  0, or
 * -EINVAL (personal.layers does not fit the model, logged): the node
 * then takes part in no round.
 */
int mcai_nodepers_shape(struct mcai_nodepers *p,
			const struct mcai_fedmlp_shape *s, u32 n_params);

/* Where a round's training starts: @base, FedPer's personal layers ours. */
void mcai_nodepers_round_params(const struct mcai_nodepers *p,
				const float *base, float *out);

/*
 * Local training for round @r is done (@net holds its result, @delta
 * = net - base): FedPer keeps the personal layers and packs @delta to the
 * shared ones; Ditto trains its personal model towards @base.  The state
 * is saved.  Returns how many values of @delta go on the wire.
 */
u32 mcai_nodepers_trained(struct mcai_nodepers *p, struct mcai_mlp *net,
			  const float *base, uint32_t base_version,
			  const struct mcai_msg_round *r, float *delta,
			  const struct mcai_nodepers_data *data,
			  float momentum);

/*
 * Fleet version @m (verified model @mm) was accepted: its personal
 * version is due (the test vectors are kept).  Built later, by
 * mcai_nodepers_build(), when the node is not training: a round's
 * training goes first, and FedPer's head is then the one trained on
 * this very body.  A newer version replaces a due one.
 */
int mcai_nodepers_due(struct mcai_nodepers *p, const struct mcai_msg_model *m,
		      const struct mcai_model *mm, u32 inputs);
/* The version due, 0 none. */
uint32_t mcai_nodepers_due_version(const struct mcai_nodepers *p);

/*
 * Build, measure, sign and record the personal version due (global
 * parameters @global of that version), and load it into @dev (NULL: no
 * device) when personal.install says so.  Uses @net as scratch.  1 when
 * it went into the kernel, else 0.
 */
int mcai_nodepers_build(struct mcai_nodepers *p, const float *global,
			const struct mcai_fedmlp_shape *s,
			struct mcai_mlp *net,
			const struct mcai_nodepers_data *data,
			struct mcai_dev *dev);

#endif /* MCAI_NODEPERS_H */
