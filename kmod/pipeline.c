// SPDX-License-Identifier: GPL-2.0
/*
 * Pipelines: chains and ensembles of loaded models (MCAI_IOC_PIPELINE_CREATE).
 *
 * Creation rules (anything else is -EINVAL, an unknown or unloaded model
 * -ENOENT, a name in use in the caller's namespace -EEXIST, too many
 * pipelines on one file, of one user or in all -ENOSPC: kmod/account.h):
 *  - flags and pad 0; name 1..31 bytes of [A-Za-z0-9_.-], NUL padded,
 *    unique among live pipelines of its namespace (pipeline.h);
 *    model_ids[] and weights[] 0 past n_models; escalate_below in
 *    -129 (never) .. 128 (always);
 *  - MCAI_PIPE_CHAIN: exactly 2 models, both take the same sample (equal
 *    input_len); 0 <= fire_class < classes of stage 1; weights all 0;
 *  - MCAI_PIPE_ENSEMBLE_VOTE / _AVG: 2..8 models with equal input_len,
 *    output_len and head (and head_threshold for an AVG of threshold
 *    heads); fire_class 0; weights only for AVG (all 0 means equal
 *    weights), and then their sum is > 0.
 *
 * Running (one sample):
 *  - chain: stage 1 runs; if its class != fire_class the result is stage
 *    1's (scores, class, model) flagged MCAI_RES_GATED: the gate saved a
 *    stage 2 inference.  Otherwise stage 2 runs and answers;
 *  - vote: every member runs; the class with the most votes wins, a tie
 *    goes to the lowest class; scores are the members' scores averaged
 *    with equal weights (rounded as below);
 *  - avg: scores[j] = round(sum_i w_i * s_ij / sum_i w_i), rounding half
 *    away from zero, in integers; the class is the members' head applied
 *    to those scores (argmax, first index on a tie; or score >= threshold);
 *  - MCAI_RES_ESCALATE when ensemble members' classes disagree, or when the
 *    winning score (scores[class] for an argmax head, scores[0] for a
 *    threshold head) of whatever answered is below escalate_below;
 *  - an ensemble result names its first member as model_id / version.
 * Every member inference counts in its model's inferences and drift
 * statistics, exactly like a synchronous one.
 *
 * Scratch: a run needs the members' scores and one engine arena, used by
 * each stage in turn, so as large as the largest arena of the members'
 * current versions: that, not the module's max_arena, is what sessions
 * and the synchronous path allocate (and charge, kmod/account.h).
 *
 * The table: ids in an xarray (RCU readers, cyclic allocation), names in
 * an rhashtable keyed by (namespace, name), so that neither a lookup nor
 * the uniqueness check at creation scans the pipelines.  Creation and
 * removal take mcai_pipes_lock, lookups only rcu_read_lock().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "account.h"
#include "compat.h"
#include "file.h"
#include "pipeline.h"
#include "registry.h"
#include "sched.h"
#include "stats.h"
#include "trace.h"
#include "models/engine/model.h"

#define MCAI_ESCALATE_NEVER	(-129)
#define MCAI_ESCALATE_ALWAYS	128

/* The shape a member had at creation; a run refuses anything else. */
struct mcai_pipe_member {
	struct mcai_slot *slot;		/* one reference */
	u32 input_len;
	u32 output_len;
	u8 head;
	s8 head_threshold;
};

/* The namespace of the admin's pipelines; a user's is its uid. */
#define MCAI_PIPE_NS_ADMIN	U32_MAX

/* What the name table is keyed by: no padding, names NUL padded. */
struct mcai_pipe_key {
	u32 ns;
	char name[MCAI_NAME_LEN];
};

struct mcai_pipeline {
	struct kref ref;
	struct rcu_head rcu;
	struct list_head node;		/* on mcai_file.pipelines */
	struct rhash_head hnode;	/* in mcai_pipe_names while published */
	struct mcai_pipe_key key;
	struct mcai_acct *acct;		/* charged to (a reference), or NULL */
	u32 id;
	u32 type;
	u32 n;
	struct mcai_pipe_member mb[MCAI_PIPE_MAX_MODELS];
	u32 weight[MCAI_PIPE_MAX_MODELS];
	u32 weight_sum;
	s32 fire_class;
	s32 escalate_below;
	u32 input_len;
	u32 output_len;			/* widest result */
	atomic64_t runs, gated, escalated;
};

static DEFINE_XARRAY_ALLOC1(mcai_pipes);	/* id -> pipeline, RCU readers */
static struct rhashtable mcai_pipe_names;	/* (ns, name) -> pipeline */
static DEFINE_MUTEX(mcai_pipes_lock);		/* creation and removal */
static u32 mcai_pipes_next;

static const struct rhashtable_params mcai_pipe_params = {
	.key_len = sizeof(struct mcai_pipe_key),
	.key_offset = offsetof(struct mcai_pipeline, key),
	.head_offset = offsetof(struct mcai_pipeline, hnode),
	.automatic_shrinking = true,
};

int mcai_pipeline_init_module(void)
{
	BUILD_BUG_ON(sizeof(struct mcai_pipe_key) != 4 + MCAI_NAME_LEN);
	return rhashtable_init(&mcai_pipe_names, &mcai_pipe_params);
}

/* Every file is closed: no pipeline is published any more. */
void mcai_pipeline_exit_module(void)
{
	WARN_ON(!xa_empty(&mcai_pipes));
	rhashtable_destroy(&mcai_pipe_names);
	xa_destroy(&mcai_pipes);
}

static u32 mcai_pipe_ns(const struct mcai_acct *user)
{
	return user ? mcai_acct_uid(user) : MCAI_PIPE_NS_ADMIN;
}

/* Process context: drops model slots and the user's budget. */
static void mcai_pipeline_free(struct kref *ref)
{
	struct mcai_pipeline *p = container_of(ref, struct mcai_pipeline, ref);
	u32 i;

	for (i = 0; i < p->n; i++)
		mcai_slot_put(p->mb[i].slot);
	mcai_acct_pipe_uncharge(p->acct);
	mcai_acct_put(p->acct);
	atomic_long_sub(sizeof(*p), &mcai_live.bytes);
	kfree_rcu(p, rcu);
}

/* Process context: the last put drops model slots, which may free memory. */
void mcai_pipeline_put(struct mcai_pipeline *p)
{
	kref_put(&p->ref, mcai_pipeline_free);
}
EXPORT_SYMBOL_GPL(mcai_pipeline_put);

struct mcai_pipeline *mcai_pipeline_get(u32 id, const char *name,
					const struct mcai_acct *user)
{
	struct mcai_pipeline *p = NULL;
	struct mcai_pipe_key key;

	key.ns = mcai_pipe_ns(user);
	rcu_read_lock();
	if (id) {
		p = xa_load(&mcai_pipes, id);
		/* another user's pipeline does not exist for this one */
		if (p && p->key.ns != key.ns && p->key.ns != MCAI_PIPE_NS_ADMIN)
			p = NULL;
	} else if (name) {
		/* NUL within MCAI_NAME_LEN (checked): the rest padded */
		strscpy_pad(key.name, name, sizeof(key.name));
		p = rhashtable_lookup(&mcai_pipe_names, &key, mcai_pipe_params);
		if (!p && key.ns != MCAI_PIPE_NS_ADMIN) {
			key.ns = MCAI_PIPE_NS_ADMIN;
			p = rhashtable_lookup(&mcai_pipe_names, &key,
					      mcai_pipe_params);
		}
	}
	if (p && !kref_get_unless_zero(&p->ref))
		p = NULL;
	rcu_read_unlock();
	return p;
}
EXPORT_SYMBOL_GPL(mcai_pipeline_get);

u32 mcai_pipeline_input_len(const struct mcai_pipeline *p)
{
	return p->input_len;
}
EXPORT_SYMBOL_GPL(mcai_pipeline_input_len);

u32 mcai_pipeline_output_len(const struct mcai_pipeline *p)
{
	return p->output_len;
}
EXPORT_SYMBOL_GPL(mcai_pipeline_output_len);

/* Member scores, n * output_len, then the engine arena (8-aligned). */
static size_t mcai_pipe_scores_size(const struct mcai_pipeline *p)
{
	return ALIGN((size_t)p->n * p->output_len, 8);
}

size_t mcai_pipeline_scratch_size(struct mcai_pipeline *p)
{
	struct mcai_version *v;
	u32 i, arena = 0;

	for (i = 0; i < p->n; i++) {
		v = mcai_slot_version_get(p->mb[i].slot);
		if (!v)
			continue;	/* unloaded: the run fails anyway */
		arena = max(arena, v->m.arena_size);
		mcai_version_put(v);
	}
	return mcai_pipe_scores_size(p) + arena;
}
EXPORT_SYMBOL_GPL(mcai_pipeline_scratch_size);

static u32 mcai_head_classes(u8 head, u32 output_len)
{
	return head == MCAI_HEAD_THRESHOLD ? 2 : output_len;
}

/* The class a head picks, as mcai_engine_head() does. */
static int mcai_pipe_head(const struct mcai_pipe_member *mb, const s8 *sc)
{
	u32 i, best = 0;

	if (mb->head == MCAI_HEAD_THRESHOLD)
		return sc[0] >= mb->head_threshold;
	for (i = 1; i < mb->output_len; i++)
		if (sc[i] > sc[best])
			best = i;
	return (int)best;
}

static s8 mcai_pipe_win_score(const struct mcai_pipe_member *mb,
			      const s8 *sc, int cls)
{
	return mb->head == MCAI_HEAD_THRESHOLD ? sc[0] : sc[cls];
}

/* round(num / den), half away from zero; den > 0 and |result| <= 128. */
static s8 mcai_pipe_div_round(s32 num, u32 den)
{
	u32 a = num < 0 ? -(u32)num : (u32)num;
	u32 q = (2 * a + den) / (2 * den);

	return (s8)(num < 0 ? -(s32)q : (s32)q);
}

/*
 * Run member @i on @input into @scores.  Returns its class, or -ENOENT /
 * -ESTALE; *@ver gets the version that ran.
 */
static int mcai_pipe_stage(struct mcai_pipeline *p, u32 i, const s8 *input,
			   s8 *scores, void *arena, size_t arena_size, u32 *ver,
			   u32 session, u64 seq)
{
	const struct mcai_pipe_member *mb = &p->mb[i];
	struct mcai_trace_batch tb;
	struct mcai_version *v;
	const struct mcai_model *m;
	int cls;

	v = mcai_slot_version_get(mb->slot);
	if (!v)
		return -ENOENT;
	m = &v->m;
	if (m->input_len != mb->input_len || m->output_len != mb->output_len ||
	    m->output_dtype != MCAI_DT_INT8 ||
	    m->head != mb->head || m->arena_size > arena_size ||
	    (m->head == MCAI_HEAD_THRESHOLD &&
	     m->head_threshold != mb->head_threshold)) {
		mcai_version_put(v);
		return -ESTALE;
	}
	/* Each stage is charged to its own model's energy budget. */
	if (mcai_sched_admit(&v->slot->sched, m->macs) == MCAI_ADMIT_SHED) {
		trace_mcai_shed(v->slot->id, m->version, session, seq,
				m->macs);
		mcai_version_put(v);
		return -EAGAIN;
	}
	/* a batch of one per stage: stages run different models */
	mcai_trace_batch_begin(&tb);
	trace_mcai_infer_start(v->slot->id, m->version, session, seq, m->macs,
			       m->input_len);
	cls = mcai_model_run(m, input, scores, arena);
	mcai_trace_infer_done(&tb, v->slot->id, m->version, session, seq,
			      m->macs, cls, 0, v->slot->name);
	mcai_trace_batch_end(&tb, v->slot->id, m->version, session,
			     v->slot->name, m->macs);
	*ver = m->version;
	atomic64_inc(&v->slot->inferences);
	atomic64_inc(&mcai_live.inferences);
	mcai_stats_update(&v->slot->drift, input, m->input_len, cls);
	mcai_version_put(v);
	return cls;
}

static int mcai_pipe_run_chain(struct mcai_pipeline *p, const s8 *input,
			       struct mcai_result *res, s8 *sc, void *arena,
			       size_t arena_size, u32 session)
{
	u32 ver;
	int cls, st = 0;

	cls = mcai_pipe_stage(p, 0, input, sc, arena, arena_size, &ver,
			      session, res->seq);
	if (cls < 0)
		return cls;
	if (cls == p->fire_class) {
		st = 1;
		cls = mcai_pipe_stage(p, 1, input, sc, arena, arena_size, &ver,
				      session, res->seq);
		if (cls < 0)
			return cls;
	} else {
		res->flags |= MCAI_RES_GATED;
		atomic64_inc(&p->gated);
	}
	res->class_id = cls;
	res->model_id = p->mb[st].slot->id;
	res->version = ver;
	res->n_scores = p->mb[st].output_len;
	memcpy(res->scores, sc, res->n_scores);
	if (mcai_pipe_win_score(&p->mb[st], sc, cls) < p->escalate_below)
		res->flags |= MCAI_RES_ESCALATE;
	return 0;
}

static int mcai_pipe_run_ensemble(struct mcai_pipeline *p, const s8 *input,
				  struct mcai_result *res, s8 *sc, void *arena,
				  size_t arena_size, u32 session)
{
	u32 votes[MCAI_PIPE_MAX_MODELS];
	int cls[MCAI_PIPE_MAX_MODELS];
	u32 out = p->mb[0].output_len, i, j, ver0 = 0, ver;
	bool vote = p->type == MCAI_PIPE_ENSEMBLE_VOTE;
	bool disagree = false;
	int win;

	for (i = 0; i < p->n; i++) {
		cls[i] = mcai_pipe_stage(p, i, input, sc + i * out, arena,
					 arena_size, &ver, session, res->seq);
		if (cls[i] < 0)
			return cls[i];
		if (!i)
			ver0 = ver;
		if (cls[i] != cls[0])
			disagree = true;
	}
	for (j = 0; j < out; j++) {
		s32 num = 0;

		for (i = 0; i < p->n; i++)
			num += (s32)(vote ? 1 : p->weight[i]) * sc[i * out + j];
		res->scores[j] = mcai_pipe_div_round(num, vote ? p->n :
						     p->weight_sum);
	}
	if (vote) {
		/* Tally: votes[k] counts the members that chose cls[k]. */
		win = cls[0];
		for (i = 0; i < p->n; i++) {
			votes[i] = 0;
			for (j = 0; j < p->n; j++)
				votes[i] += cls[j] == cls[i];
		}
		for (i = 0, j = 0; i < p->n; i++)
			if (votes[i] > j || (votes[i] == j && cls[i] < win)) {
				j = votes[i];
				win = cls[i];
			}
	} else {
		win = mcai_pipe_head(&p->mb[0], res->scores);
	}
	res->class_id = win;
	res->model_id = p->mb[0].slot->id;
	res->version = ver0;
	res->n_scores = out;
	if (disagree ||
	    mcai_pipe_win_score(&p->mb[0], res->scores, win) < p->escalate_below)
		res->flags |= MCAI_RES_ESCALATE;
	return 0;
}

int mcai_pipeline_run(struct mcai_pipeline *p, const s8 *input,
		      struct mcai_result *res, void *scratch,
		      size_t scratch_size, u32 session)
{
	size_t head = mcai_pipe_scores_size(p);
	s8 *sc = scratch;
	void *arena = (u8 *)scratch + head;
	size_t arena_size = scratch_size > head ? scratch_size - head : 0;
	int ret;

	might_sleep();		/* the engine yields between a graph's ops */
	res->flags = 0;
	if (scratch_size < head)
		ret = -ESTALE;
	else if (p->type == MCAI_PIPE_CHAIN)
		ret = mcai_pipe_run_chain(p, input, res, sc, arena, arena_size,
					  session);
	else
		ret = mcai_pipe_run_ensemble(p, input, res, sc, arena,
					     arena_size, session);
	atomic64_inc(&p->runs);
	if (ret) {
		res->class_id = -1;
		res->flags = 0;
		res->model_id = 0;
		res->version = 0;
		res->n_scores = 0;
		return ret;
	}
	if (res->flags & MCAI_RES_ESCALATE)
		atomic64_inc(&p->escalated);
	return 0;
}
EXPORT_SYMBOL_GPL(mcai_pipeline_run);

static int mcai_pipe_check_name(const char *name)
{
	u32 i;

	for (i = 0; i < MCAI_NAME_LEN && name[i]; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return -EINVAL;
	}
	if (!i || i == MCAI_NAME_LEN || memchr_inv(name + i, 0, MCAI_NAME_LEN - i))
		return -EINVAL;
	return 0;
}

/* Everything that can be checked without looking at a model. */
static int mcai_pipe_check_req(const struct mcai_pipeline_create *req)
{
	bool chain = req->type == MCAI_PIPE_CHAIN;
	bool avg = req->type == MCAI_PIPE_ENSEMBLE_AVG;
	u32 i;

	if (req->flags || req->pad || mcai_pipe_check_name(req->name))
		return -EINVAL;
	if (!chain && !avg && req->type != MCAI_PIPE_ENSEMBLE_VOTE)
		return -EINVAL;
	if (chain ? req->n_models != 2 :
	    req->n_models < 2 || req->n_models > MCAI_PIPE_MAX_MODELS)
		return -EINVAL;
	if (req->escalate_below < MCAI_ESCALATE_NEVER ||
	    req->escalate_below > MCAI_ESCALATE_ALWAYS)
		return -EINVAL;
	if (!chain && req->fire_class)
		return -EINVAL;
	if (chain && req->fire_class < 0)
		return -EINVAL;
	for (i = 0; i < MCAI_PIPE_MAX_MODELS; i++) {
		if (i < req->n_models && !req->model_ids[i])
			return -EINVAL;
		if (i >= req->n_models && (req->model_ids[i] || req->weights[i]))
			return -EINVAL;
		if (!avg && req->weights[i])
			return -EINVAL;
	}
	return 0;
}

/* Member shapes against the pipeline type; the members are held. */
static int mcai_pipe_check_shapes(struct mcai_pipeline *p)
{
	const struct mcai_pipe_member *a = &p->mb[0];
	u32 i;

	if (p->type == MCAI_PIPE_CHAIN) {
		if (p->mb[1].input_len != a->input_len ||
		    (u32)p->fire_class >= mcai_head_classes(a->head, a->output_len))
			return -EINVAL;
		return 0;
	}
	for (i = 1; i < p->n; i++) {
		const struct mcai_pipe_member *b = &p->mb[i];

		if (b->input_len != a->input_len ||
		    b->output_len != a->output_len || b->head != a->head)
			return -EINVAL;
		if (p->type == MCAI_PIPE_ENSEMBLE_AVG &&
		    a->head == MCAI_HEAD_THRESHOLD &&
		    b->head_threshold != a->head_threshold)
			return -EINVAL;
	}
	return 0;
}

static int mcai_pipe_add_member(struct mcai_pipeline *p, u32 id)
{
	struct mcai_pipe_member *mb = &p->mb[p->n];
	struct mcai_version *v;
	struct mcai_slot *s;

	s = mcai_slot_get_by_id(id);
	if (!s)
		return -ENOENT;
	v = mcai_slot_version_get(s);
	if (!v) {
		mcai_slot_put(s);
		return -ENOENT;
	}
	/* Heads, votes and escalation read int8 scores. */
	if (v->m.output_dtype != MCAI_DT_INT8) {
		mcai_version_put(v);
		mcai_slot_put(s);
		return -EINVAL;
	}
	mb->slot = s;
	mb->input_len = v->m.input_len;
	mb->output_len = v->m.output_len;
	mb->head = v->m.head;
	mb->head_threshold = v->m.head_threshold;
	mcai_version_put(v);
	p->n++;			/* the pipeline owns the slot reference now */
	return 0;
}

/*
 * Publish @p by id and by name; under mcai_pipes_lock.  The id is
 * reserved first (readers find nothing there yet), so that a pipeline
 * refused for its name was never visible.
 */
static int mcai_pipe_publish(struct mcai_pipeline *p)
{
	int ret;

	ret = xa_alloc_cyclic(&mcai_pipes, &p->id, NULL, XA_LIMIT(1, U32_MAX),
			      &mcai_pipes_next, MCAI_GFP_USER);
	if (ret < 0)
		return ret == -EBUSY ? -ENOSPC : ret;
	/* the uniqueness check and the insertion in one: no scan */
	ret = rhashtable_lookup_insert_fast(&mcai_pipe_names, &p->hnode,
					    mcai_pipe_params);
	if (ret)
		goto err_id;
	/* replaces the reservation: nothing to allocate */
	ret = xa_err(xa_store(&mcai_pipes, p->id, p, MCAI_GFP_USER));
	if (ret)
		goto err_name;
	return 0;

err_name:
	rhashtable_remove_fast(&mcai_pipe_names, &p->hnode, mcai_pipe_params);
err_id:
	xa_erase(&mcai_pipes, p->id);
	/* -EBUSY, -E2BIG: the table cannot grow now */
	return ret == -EEXIST || ret == -ENOMEM ? ret : -ENOSPC;
}

/* Under mcai_pipes_lock. */
static void mcai_pipe_unpublish(struct mcai_pipeline *p)
{
	rhashtable_remove_fast(&mcai_pipe_names, &p->hnode, mcai_pipe_params);
	xa_erase(&mcai_pipes, p->id);
}

int mcai_pipeline_create(struct mcai_file *f, struct mcai_pipeline_create *req,
			 struct mcai_acct *user)
{
	struct mcai_pipeline *p;
	u32 i;
	int ret;

	ret = mcai_pipe_check_req(req);
	if (ret)
		return ret;
	/* The budgets first: nothing is allocated past a bound. */
	ret = mcai_acct_pipe_charge(user);
	if (ret)
		return ret;
	p = kzalloc(sizeof(*p), MCAI_GFP_USER);
	if (!p) {
		mcai_acct_pipe_uncharge(user);
		return -ENOMEM;
	}
	kref_init(&p->ref);
	INIT_LIST_HEAD(&p->node);
	atomic_long_add(sizeof(*p), &mcai_live.bytes);
	/* from here on mcai_pipeline_free() gives the charge back */
	p->acct = mcai_acct_hold(user);
	p->key.ns = mcai_pipe_ns(user);
	memcpy(p->key.name, req->name, MCAI_NAME_LEN);	/* NUL padded */
	p->type = req->type;
	p->fire_class = req->fire_class;
	p->escalate_below = req->escalate_below;
	for (i = 0; i < req->n_models; i++) {
		ret = mcai_pipe_add_member(p, req->model_ids[i]);
		if (ret)
			goto err;
		if (req->type == MCAI_PIPE_ENSEMBLE_AVG) {
			p->weight[i] = req->weights[i];
			p->weight_sum += req->weights[i];
		}
		p->output_len = max(p->output_len, p->mb[i].output_len);
	}
	p->input_len = p->mb[0].input_len;
	ret = mcai_pipe_check_shapes(p);
	if (ret)
		goto err;
	if (req->type == MCAI_PIPE_ENSEMBLE_AVG && !p->weight_sum) {
		for (i = 0; i < p->n; i++)
			p->weight[i] = 256;	/* all 0: equal weights */
		p->weight_sum = 256 * p->n;
	}

	mutex_lock(&f->lock);
	if (f->n_pipelines >= mcai_acct_file_pipelines()) {
		ret = -ENOSPC;
		goto err_unlock_file;
	}
	mutex_lock(&mcai_pipes_lock);
	ret = mcai_pipe_publish(p);
	mutex_unlock(&mcai_pipes_lock);
	if (ret)
		goto err_unlock_file;
	list_add_tail(&p->node, &f->pipelines);	/* the file's reference */
	f->n_pipelines++;
	mutex_unlock(&f->lock);
	req->pipeline_id = p->id;
	return 0;

err_unlock_file:
	mutex_unlock(&f->lock);
err:
	mcai_pipeline_put(p);
	return ret;
}

/*
 * The file is going away: unpublish its pipelines.  Holders of a
 * reference (sessions, driver clients) keep theirs until they put it.
 */
void mcai_pipeline_release_file(struct mcai_file *f)
{
	struct mcai_pipeline *p, *tmp;

	list_for_each_entry_safe(p, tmp, &f->pipelines, node) {
		mutex_lock(&mcai_pipes_lock);
		mcai_pipe_unpublish(p);
		mutex_unlock(&mcai_pipes_lock);
		list_del_init(&p->node);
		mcai_pipeline_put(p);
	}
	f->n_pipelines = 0;
}

int mcai_pipeline_infer(struct mcai_infer *req, struct mcai_acct *user)
{
	const struct mcai_limits *lim = mcai_registry_limits();
	struct mcai_pipeline *p;
	struct mcai_result *res = NULL;
	void *scratch = NULL;
	size_t size, charge = 0;
	s8 *input;
	int ret;

	if (!req->input_len || req->input_len > lim->max_dim)
		return -EINVAL;
	input = memdup_user(u64_to_user_ptr(req->input_ptr), req->input_len);
	if (IS_ERR(input))
		return PTR_ERR(input);
	p = mcai_pipeline_get(req->ref.model_id, req->ref.name, user);
	if (!p) {
		ret = -ENOENT;
		goto out_input;
	}
	if (req->input_len != p->input_len ||
	    (req->scores_ptr && req->scores_len < p->output_len)) {
		ret = -EINVAL;
		goto out_put;
	}
	/* held only for the call, but as many calls as there are threads */
	size = mcai_pipeline_scratch_size(p);
	charge = mcai_acct_kv_size(sizeof(*res) + p->output_len) +
		 mcai_acct_kv_size(size);
	ret = mcai_acct_mem_charge(user, charge);
	if (ret) {
		charge = 0;
		goto out_put;
	}
	res = kmalloc(sizeof(*res) + p->output_len, MCAI_GFP_USER);
	scratch = kvmalloc(size, MCAI_GFP_USER);
	if (!res || !scratch) {
		ret = -ENOMEM;
		goto out_put;
	}
	res->seq = 0;
	ret = mcai_pipeline_run(p, input, res, scratch, size, 0);
out_put:
	mcai_pipeline_put(p);
	if (!ret && req->scores_ptr &&
	    copy_to_user(u64_to_user_ptr(req->scores_ptr), res->scores,
			 res->n_scores))
		ret = -EFAULT;
	if (!ret) {
		req->class_id = res->class_id;
		req->scores_len = res->n_scores;
		req->version = res->version;
		req->result_flags = res->flags;
	}
	kvfree(scratch);
	kfree(res);
	if (charge)
		mcai_acct_mem_uncharge(user, charge);
out_input:
	kfree(input);
	return ret;
}
