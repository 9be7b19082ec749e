// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler: the module's workqueues and per-model policy (priority,
 * deadline, energy budget).  See sched.h for the model.
 *
 * Two unbound workqueues: "mcai" for MCAI_PRIO_LOW and MCAI_PRIO_NORMAL
 * models and "mcai_hi" (WQ_HIGHPRI: its workers run at nice -20) for
 * MCAI_PRIO_HIGH.  Unbound, so a burst of inferences spreads over CPUs
 * and is not tied to the submitter's CPU; each session is one work item
 * whose pass is bounded in time (kmod/session.c) before it requeues
 * itself, so sessions sharing a queue take turns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>

#include "compat.h"
#include "sched.h"

/*
 * Default energy per multiply-accumulate, picojoules.  A PLACEHOLDER of
 * the right order of magnitude for int8 MACs on a small CPU, where the
 * load/store and instruction overhead around each MAC dominates (an 8-bit
 * multiply-add alone is ~0.2 pJ at 45 nm, a small-SRAM access ~5 pJ:
 * Horowitz, "Computing's energy problem", ISSCC 2014).  The eBPF
 * telemetry issue replaces it with measured figures.
 */
static unsigned int pj_per_mac = 5;
module_param(pj_per_mac, uint, 0444);
MODULE_PARM_DESC(pj_per_mac,
		 "modelled energy per MAC, picojoules (placeholder until measured)");

#define MCAI_MAX_PJ_PER_MAC	1000000U
/* µJ/s; keeps elapsed_ns (capped at 1 s) * budget inside a u64. */
#define MCAI_MAX_BUDGET_UJ	1000000000ULL
/* 1 µJ per MAC: macs < 2^37 keeps a cost below 2^57 pJ. */
#define MCAI_MAX_MPJ_PER_MAC	1000000000ULL
#define NSEC_PER_SEC_U64	1000000000ULL

static struct workqueue_struct *mcai_wq, *mcai_wq_hi;

int mcai_sched_init_module(void)
{
	if (!pj_per_mac || pj_per_mac > MCAI_MAX_PJ_PER_MAC) {
		pr_err("pj_per_mac out of range (1..%u)\n", MCAI_MAX_PJ_PER_MAC);
		return -EINVAL;
	}
	mcai_wq = alloc_workqueue("mcai", WQ_UNBOUND, 0);
	if (!mcai_wq)
		return -ENOMEM;
	mcai_wq_hi = alloc_workqueue("mcai_hi", WQ_UNBOUND | WQ_HIGHPRI, 0);
	if (!mcai_wq_hi) {
		destroy_workqueue(mcai_wq);
		return -ENOMEM;
	}
	return 0;
}

void mcai_sched_exit_module(void)
{
	destroy_workqueue(mcai_wq_hi);
	destroy_workqueue(mcai_wq);
}

void mcai_sched_init(struct mcai_sched *sc)
{
	spin_lock_init(&sc->lock);
	sc->priority = MCAI_PRIO_NORMAL;
	atomic64_set(&sc->shed, 0);
	atomic64_set(&sc->deadline_misses, 0);
}

struct workqueue_struct *mcai_sched_wq(u32 prio)
{
	return prio == MCAI_PRIO_HIGH ? mcai_wq_hi : mcai_wq;
}

u32 mcai_sched_priority(struct mcai_sched *sc)
{
	return READ_ONCE(sc->priority);
}

/* Refill the bucket; under sc->lock, budget_uj != 0. */
static void mcai_sched_refill(struct mcai_sched *sc, u64 now)
{
	u64 dt = now - sc->last_ns, num, add;
	s64 cap = (s64)(sc->budget_uj * 1000000ULL);

	sc->last_ns = now;
	if (dt > NSEC_PER_SEC_U64)
		dt = NSEC_PER_SEC_U64;	/* a full bucket is one second */
	/* budget µJ/s = budget / 1000 pJ/ns; keep the remainder */
	num = dt * sc->budget_uj + sc->refill_rem;
	add = div64_u64_rem(num, 1000, &sc->refill_rem);
	sc->tokens_pj += (s64)add;
	if (sc->tokens_pj >= cap) {
		sc->tokens_pj = cap;
		sc->refill_rem = 0;
	}
}

enum mcai_admit mcai_sched_admit(struct mcai_sched *sc, u64 macs)
{
	enum mcai_admit a = MCAI_ADMIT_RUN;
	u64 pj;
	s64 cost, cap;

	spin_lock(&sc->lock);
	pj = sc->pj_per_mac ? sc->pj_per_mac : pj_per_mac;
	/* macs <= 16 layers * 65535^2 < 2^37, pj <= 2^20: no overflow */
	if (sc->mpj_per_mac)
		cost = (s64)mul_u64_u64_div_u64(macs, sc->mpj_per_mac, 1000);
	else
		cost = (s64)(macs * pj);
	if (sc->budget_uj) {
		mcai_sched_refill(sc, ktime_get_ns());
		cap = (s64)(sc->budget_uj * 1000000ULL);
		if (sc->tokens_pj >= cost) {
			sc->tokens_pj -= cost;
		} else if (sc->priority == MCAI_PRIO_HIGH) {
			/* runs anyway; the debt sheds the model's next LOW work */
			sc->tokens_pj -= cost;
			if (sc->tokens_pj < -cap)
				sc->tokens_pj = -cap;
		} else {
			a = MCAI_ADMIT_SHED;
		}
	}
	if (a == MCAI_ADMIT_RUN)
		sc->energy_pj += cost;
	spin_unlock(&sc->lock);
	if (a == MCAI_ADMIT_SHED)
		atomic64_inc(&sc->shed);
	return a;
}

bool mcai_sched_deadline(struct mcai_sched *sc, u64 latency_ns)
{
	u32 d = READ_ONCE(sc->deadline_us);

	if (!d || latency_ns <= (u64)d * NSEC_PER_USEC)
		return false;
	atomic64_inc(&sc->deadline_misses);
	return true;
}

int mcai_sched_check_policy(const struct mcai_model_policy *req)
{
	/* the caller (kmod/ioctl.c) checked the privilege */
	if (req->flags || req->pad || req->priority > MCAI_PRIO_HIGH ||
	    req->energy_budget_uj > MCAI_MAX_BUDGET_UJ ||
	    req->pj_per_mac > MCAI_MAX_PJ_PER_MAC)
		return -EINVAL;
	return 0;
}

void mcai_sched_set_policy(struct mcai_sched *sc,
			   const struct mcai_model_policy *req)
{
	spin_lock(&sc->lock);
	sc->priority = req->priority;
	sc->deadline_us = req->deadline_us;
	sc->pj_per_mac = req->pj_per_mac;
	/* a new budget starts with a full bucket */
	sc->budget_uj = req->energy_budget_uj;
	sc->tokens_pj = (s64)(req->energy_budget_uj * 1000000ULL);
	sc->refill_rem = 0;
	sc->last_ns = ktime_get_ns();
	spin_unlock(&sc->lock);
}

int mcai_sched_check_energy(const struct mcai_model_energy *req)
{
	/* the caller (kmod/ioctl.c) checked the privilege */
	if (req->flags || req->pad ||
	    req->source > MCAI_ENERGY_RAPL_CALIBRATED ||
	    req->mpj_per_mac > MCAI_MAX_MPJ_PER_MAC)
		return -EINVAL;
	/* a measured source needs a figure, the estimate must not have one */
	if (req->source == MCAI_ENERGY_ESTIMATE ? req->mpj_per_mac :
	    !req->mpj_per_mac)
		return -EINVAL;
	return 0;
}

/*
 * Measured figures replace the estimate from the next admission on; the
 * bucket is left as it is, only the price of what follows changes.
 */
void mcai_sched_set_energy(struct mcai_sched *sc,
			   const struct mcai_model_energy *req)
{
	spin_lock(&sc->lock);
	sc->energy_source = req->source;
	sc->mpj_per_mac = req->mpj_per_mac;
	spin_unlock(&sc->lock);
}

void mcai_sched_counters(struct mcai_sched *sc, struct mcai_model_stats *out)
{
	u64 pj;

	spin_lock(&sc->lock);
	pj = sc->energy_pj;
	out->energy_source = sc->energy_source;
	out->mpj_per_mac = sc->mpj_per_mac ? sc->mpj_per_mac :
			   (u64)(sc->pj_per_mac ? sc->pj_per_mac :
				 pj_per_mac) * 1000;
	spin_unlock(&sc->lock);
	out->shed = atomic64_read(&sc->shed);
	out->deadline_misses = atomic64_read(&sc->deadline_misses);
	out->energy_uj = div_u64(pj, 1000000);
}
