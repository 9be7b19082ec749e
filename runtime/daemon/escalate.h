/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Escalation to a bigger model (mcaid, node role; config escalate.*).
 *
 * The kernel flags a result MCAI_RES_ESCALATE when a pipeline's members
 * disagree or the winning score is below the pipeline's escalate_below
 * (uapi/mcai.h, "Pipelines").  The flag reaches user space only one way:
 * in the record of a sample the module mirrors (uapi/mcai.h, "Sample
 * mirror"), which the node drains into its sample store every tick
 * (runtime/fed/samples.h).  That is the path reused here: no new kernel
 * interface, no second copy of the input, nothing on the inference path.
 * Only mirrored samples can be escalated, so a session that should
 * escalate every unsure result mirrors every input (mirror_every 1).
 *
 * After each drain, the samples just stored whose flags carry
 * MCAI_RES_ESCALATE are offered to a token bucket (rate per second,
 * burst); one that gets a token is run by the bigger model in mcaid's own
 * int8 engine (models/engine, the code the module runs), and the bigger
 * model's class is written as the sample's label in the store (with
 * escalate.label): the small model's answer is in the sample record, the
 * big model's beside it, and the next federated round trains the small
 * model on it — the large model teaches the small ones.  When MQTT is
 * configured an alert of kind "escalation" carries both answers (never
 * the input).  One without a token is counted as limited and left as it
 * was.  The raw sample never leaves the gateway on this path.
 */
#ifndef MCAI_ESCALATE_H
#define MCAI_ESCALATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mcai_samples;

/*
 * Token bucket: @burst tokens at most, refilled at @rate per second; it
 * starts full.  Time is the caller's monotonic milliseconds, so the tests
 * drive it without sleeping.
 */
struct mcai_esc_bucket {
	double rate, burst, tokens;
	uint64_t last_ms;
};

void mcai_esc_bucket_init(struct mcai_esc_bucket *b, double rate,
			  double burst, uint64_t now_ms);
/* Take one token: true, or false when the bucket is empty. */
bool mcai_esc_bucket_take(struct mcai_esc_bucket *b, uint64_t now_ms);

struct mcai_esc_stats {
	uint64_t seen;		/* escalated samples that reached the store */
	uint64_t routed;	/* run by the bigger model */
	uint64_t limited;	/* refused by the token bucket */
	uint64_t failed;	/* read back or labelled in error */
	uint64_t agreed;	/* routed where both models gave one class */
};

/* Both answers of one routed sample, as logged and published. */
struct mcai_esc_answer {
	uint64_t sample_id;
	uint32_t small_model_id, small_version;
	int32_t small_class, small_score;
	int32_t big_class, big_score;
};

typedef void (*mcai_esc_alert_fn)(void *arg, const char *big_model,
				  const struct mcai_esc_answer *a);

struct mcai_escalate;

struct mcai_escalate_opts {
	const char *model_path;	/* the bigger model's blob */
	double rate;		/* tokens per second, > 0 */
	uint32_t burst;		/* >= 1 */
	bool label;		/* its class becomes the sample's label */
};

/*
 * Read and verify the bigger model (as the kernel would: test vectors
 * run).  0, or -errno with a sentence in @err.
 */
int mcai_escalate_new(struct mcai_escalate **out,
		      const struct mcai_escalate_opts *o, uint64_t now_ms,
		      char *err, size_t errlen);
void mcai_escalate_free(struct mcai_escalate *e);
/* Called for every routed sample (the MQTT alert); NULL: none. */
void mcai_escalate_set_alert(struct mcai_escalate *e, mcai_esc_alert_fn fn,
			     void *arg);
const char *mcai_escalate_model_name(const struct mcai_escalate *e);

/*
 * The @added samples a drain just appended to @st (its newest): route the
 * escalated ones.  Errors are counted and logged, never fatal.
 */
void mcai_escalate_scan(struct mcai_escalate *e, struct mcai_samples *st,
			uint64_t added, uint64_t now_ms);
void mcai_escalate_get_stats(const struct mcai_escalate *e,
			     struct mcai_esc_stats *s);

/*
 * The bigger model's answer on one input of @len values: its class and
 * the winning score (scores[class], or scores[0] for a threshold head,
 * as the kernel's pipelines read it).  0 or -EINVAL (wrong length).
 */
int mcai_escalate_run(struct mcai_escalate *e, const int8_t *input,
		      uint32_t len, int32_t *cls, int32_t *score);

#endif /* MCAI_ESCALATE_H */
