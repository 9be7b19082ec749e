/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scheduler: where inference runs (the module's own workqueues, not
 * the submitter's context) and the per-model policy that decides whether
 * it runs at all: priority, deadline and an energy budget.
 *
 * Energy is modelled, not measured: an inference costs
 * macs * pj_per_mac picojoules (module parameter pj_per_mac, overridable
 * per model by MCAI_IOC_MODEL_POLICY) until the eBPF telemetry issue
 * supplies measured figures.  Each model has a token bucket of
 * energy_budget_uj microjoules per second (one second of burst); the
 * bucket and every total are kept in picojoules, so nothing is lost to
 * rounding.  Over budget, MCAI_PRIO_LOW and MCAI_PRIO_NORMAL work is shed
 * (a result record flagged MCAI_RES_SHED, no scores); MCAI_PRIO_HIGH
 * work runs anyway and leaves the bucket in debt (at most one second of
 * budget), so the lower priorities of that model are shed first.
 *
 * Locking: one spinlock_t per model, held only for the bucket arithmetic
 * (no sleeping, no engine run under it): correct on PREEMPT_RT, where it
 * is a sleeping lock and the callers run in process context.
 */
#ifndef MCAI_SCHED_H
#define MCAI_SCHED_H

#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "uapi/mcai.h"

/* Per-model policy and accounting, embedded in struct mcai_slot. */
struct mcai_sched {
	spinlock_t lock;		/* the fields up to tokens_pj */
	u32 priority;			/* MCAI_PRIO_* */
	u32 deadline_us;		/* 0 = none */
	u32 pj_per_mac;			/* 0 = the module default */
	u64 budget_uj;			/* per second, 0 = unlimited */
	s64 tokens_pj;			/* bucket; negative = HIGH's debt */
	u64 refill_rem;			/* sub-picojoule remainder of refills */
	u64 last_ns;			/* last refill */
	u64 energy_pj;			/* charged since load */
	u32 energy_source;		/* MCAI_ENERGY_* */
	u64 mpj_per_mac;		/* measured, 1/1000 pJ; 0 = estimate */
	atomic64_t shed;
	atomic64_t deadline_misses;
};

/* What the scheduler says about one inference. */
enum mcai_admit {
	MCAI_ADMIT_RUN,
	MCAI_ADMIT_SHED,
};

int mcai_sched_init_module(void);
void mcai_sched_exit_module(void);

void mcai_sched_init(struct mcai_sched *sc);

/* The workqueue for a model of priority @prio. */
struct workqueue_struct *mcai_sched_wq(u32 prio);
u32 mcai_sched_priority(struct mcai_sched *sc);

/* Charge one inference of @macs, or say it must be shed. */
enum mcai_admit mcai_sched_admit(struct mcai_sched *sc, u64 macs);

/* Count a deadline miss; returns true when @latency_ns exceeds it. */
bool mcai_sched_deadline(struct mcai_sched *sc, u64 latency_ns);

/*
 * MCAI_IOC_MODEL_POLICY and MCAI_IOC_MODEL_ENERGY (kmod/ioctl.c finds the
 * model): check @req, copied in and size checked, then apply it.
 */
int mcai_sched_check_policy(const struct mcai_model_policy *req);
void mcai_sched_set_policy(struct mcai_sched *sc,
			   const struct mcai_model_policy *req);
int mcai_sched_check_energy(const struct mcai_model_energy *req);
void mcai_sched_set_energy(struct mcai_sched *sc,
			   const struct mcai_model_energy *req);

/* For MCAI_IOC_MODEL_STATS: the scheduler's out fields. */
void mcai_sched_counters(struct mcai_sched *sc, struct mcai_model_stats *out);

#endif /* MCAI_SCHED_H */
