// SPDX-License-Identifier: GPL-2.0
/*
 * Drift statistics: exact integer accumulators per model slot, turned into
 * Q16.16 means and variances when read.
 *
 * Why one spinlock per slot and not per-CPU accumulators: an update costs
 * two additions and one multiplication per input feature, while the
 * inference it follows costs at least input_len multiply-accumulates per
 * unit of the first layer, plus the rest of the network: the lock is held
 * for a few percent of an inference at most, so even with every CPU of a
 * gateway (2 to 8) inferring on the same model it is rarely contended.
 * Per-CPU copies would multiply the memory (16 bytes per feature per
 * possible CPU) and need a lock of their own per CPU anyway to be read
 * consistently on PREEMPT_RT.  If profiling ever shows contention, the
 * accumulators can move to per-CPU arrays behind the same interface.
 *
 * Exact formulas (n samples, S1 = sum x, S2 = sum x^2, 128-bit
 * intermediates, floor division):
 *   mean_q16 = floor(2^16 * S1 / n)                 (toward -infinity)
 *   var_q16  = floor(2^16 * (n * S2 - S1^2) / n^2)  (population variance)
 * and 0 for both when n == 0.  User space can recompute them bit-exactly.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "account.h"
#include "compat.h"
#include "live.h"
#include "stats.h"
#include "models/engine/model.h"

typedef unsigned __int128 mcai_u128;

u32 mcai_model_classes(const struct mcai_model *m)
{
	return m->n_classes;
}

void mcai_drift_init(struct mcai_drift *d)
{
	spin_lock_init(&d->lock);
}

static void mcai_drift_free_arrays(struct mcai_drift *d)
{
	if (d->sum) {
		atomic_long_sub(d->bytes, &mcai_live.bytes);
		kvfree(d->sum);
	}
	d->sum = NULL;
}

void mcai_drift_destroy(struct mcai_drift *d)
{
	mcai_drift_free_arrays(d);
}

struct mcai_drift *mcai_drift_prep(const struct mcai_model *m)
{
	/* a model load's, sized by the model: fails quietly like the rest */
	struct mcai_drift *p = kzalloc(sizeof(*p), MCAI_GFP_USER);
	u32 nf = m->input_len, nc = mcai_model_classes(m);

	if (!p)
		return NULL;
	/*
	 * input_len is bounded by max_dim (v1) or max_arena (v2), classes
	 * by the output's length: no overflow.
	 */
	p->bytes = (size_t)nf * (sizeof(s64) + sizeof(u64)) +
		   (size_t)nc * sizeof(u64);
	p->sum = kvzalloc(p->bytes, MCAI_GFP_USER);
	if (!p->sum) {
		kfree(p);
		return NULL;
	}
	atomic_long_add(p->bytes, &mcai_live.bytes);
	p->sumsq = (u64 *)(p->sum + nf);
	p->hist = p->sumsq + nf;
	p->n_features = nf;
	p->n_classes = nc;
	return p;
}

void mcai_drift_install(struct mcai_drift *d, struct mcai_drift *prep)
{
	if (d->sum && d->n_features == prep->n_features &&
	    d->n_classes == prep->n_classes)
		return;
	spin_lock(&d->lock);
	swap(d->sum, prep->sum);
	swap(d->sumsq, prep->sumsq);
	swap(d->hist, prep->hist);
	swap(d->bytes, prep->bytes);
	swap(d->n_features, prep->n_features);
	swap(d->n_classes, prep->n_classes);
	d->samples = 0;
	spin_unlock(&d->lock);
}

void mcai_drift_prep_free(struct mcai_drift *prep)
{
	if (!prep)
		return;
	mcai_drift_free_arrays(prep);
	kfree(prep);
}

void mcai_stats_update(struct mcai_drift *d, const s8 *input, u32 input_len,
		       int class_id)
{
	s64 *sum;
	u64 *sumsq;
	u32 i;

	spin_lock(&d->lock);
	if (d->sum && input_len == d->n_features) {
		/*
		 * Locals: through d-> the compiler reloads both pointers on
		 * every feature (the stores might alias *d), and this loop
		 * runs on every inference.
		 */
		sum = d->sum;
		sumsq = d->sumsq;
		for (i = 0; i < input_len; i++) {
			s32 x = input[i];

			sum[i] += x;
			sumsq[i] += (u32)(x * x);
		}
		d->samples++;
		if (class_id >= 0 && (u32)class_id < d->n_classes)
			d->hist[class_id]++;
	}
	spin_unlock(&d->lock);
}

/*
 * a / d for a 128-bit @a and a non-zero 128-bit @d, by shift and subtract:
 * no libgcc helper in the kernel.  The quotients asked for here fit in
 * 32 bits; *@rem gets the remainder.
 */
static mcai_u128 mcai_div128(mcai_u128 a, mcai_u128 d, mcai_u128 *rem)
{
	mcai_u128 q = 0, r = 0;
	int i;

	for (i = 127; i >= 0; i--) {
		r = (r << 1) | ((a >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (mcai_u128)1 << i;
		}
	}
	*rem = r;
	return q;
}

static s32 mcai_drift_mean_q16(u64 n, s64 s1)
{
	mcai_u128 a, q, r;

	if (!n)
		return 0;
	a = (mcai_u128)(s1 < 0 ? -(u64)s1 : (u64)s1) << 16;
	q = mcai_div128(a, n, &r);
	if (s1 >= 0)
		return (s32)q;
	return -(s32)(q + (r != 0));	/* floor, not truncation */
}

static u32 mcai_drift_var_q16(u64 n, s64 s1, u64 s2)
{
	mcai_u128 a1, num, r;

	if (!n)
		return 0;
	a1 = s1 < 0 ? -(u64)s1 : (u64)s1;
	num = (mcai_u128)n * s2 - a1 * a1;	/* >= 0: Cauchy-Schwarz */
	return (u32)mcai_div128(num << 16, (mcai_u128)n * n, &r);
}

int mcai_stats_read(struct mcai_drift *d, struct mcai_model_stats *req)
{
	u32 nf_cap = req->features_cap, nc_cap = req->classes_cap;
	bool reset = req->flags & MCAI_STATS_RESET;
	u32 nf, nc, cf = 0, cc = 0, i;
	s64 *sum = NULL;
	u64 *sumsq, *hist;
	s32 *mean;
	u32 *var;
	u64 n;
	int ret = 0;

	/*
	 * Bounded by the shape of a verified model (at most max_dim each); a
	 * reshape between here and the copy below only shrinks what is
	 * copied (cf, cc).
	 */
	spin_lock(&d->lock);
	nf = min(nf_cap, d->n_features);
	nc = min(nc_cap, d->n_classes);
	spin_unlock(&d->lock);
	/* sum, sumsq, hist; then mean and var reuse sum and sumsq's room. */
	sum = kvmalloc_array((size_t)nf * 2 + nc + 1, sizeof(u64),
			     GFP_KERNEL_ACCOUNT);
	if (!sum)
		return -ENOMEM;
	sumsq = (u64 *)(sum + nf);
	hist = sumsq + nf;

	spin_lock(&d->lock);
	n = d->samples;
	req->n_features = d->n_features;
	req->n_classes = d->n_classes;
	cf = min(nf, d->n_features);
	cc = min(nc, d->n_classes);
	if (cf) {
		memcpy(sum, d->sum, cf * sizeof(*sum));
		memcpy(sumsq, d->sumsq, cf * sizeof(*sumsq));
	}
	if (cc)
		memcpy(hist, d->hist, cc * sizeof(*hist));
	if (reset && d->sum) {
		memset(d->sum, 0, d->bytes);
		d->samples = 0;
	}
	spin_unlock(&d->lock);

	req->samples = n;

	/* Derive in place: mean[i] and var[i] never overtake sum[i]. */
	mean = (s32 *)sum;
	var = (u32 *)sumsq;
	for (i = 0; i < cf; i++) {
		s64 s1 = sum[i];
		u64 s2 = sumsq[i];

		mean[i] = mcai_drift_mean_q16(n, s1);
		var[i] = mcai_drift_var_q16(n, s1, s2);
	}
	if (cf && (copy_to_user(u64_to_user_ptr(req->mean_ptr), mean,
				cf * sizeof(*mean)) ||
		   copy_to_user(u64_to_user_ptr(req->var_ptr), var,
				cf * sizeof(*var))))
		ret = -EFAULT;
	if (!ret && cc && copy_to_user(u64_to_user_ptr(req->hist_ptr), hist,
				       cc * sizeof(*hist)))
		ret = -EFAULT;
	kvfree(sum);
	return ret;
}
