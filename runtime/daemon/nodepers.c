// SPDX-License-Identifier: GPL-2.0
/*
 * mcaid, role node: personalisation, see runtime/daemon/nodepers.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "models/engine/model.h"
#include "models/engine/sha256.h"
#include "models/train/dataset.h"
#include "runtime/daemon/node.h"
#include "runtime/daemon/nodepers.h"
#include "runtime/fed/provenance.h"
#include "runtime/lib/atomicfile.h"
#include "runtime/lib/device.h"
#include "runtime/lib/log.h"

/* Local samples the int8 quantisation is calibrated on, at most. */
#define MCAI_NODEPERS_CALIB	256
/*
 * Test images the two models are measured on, at most (the first of the
 * split, about 200 per class): the measurement runs between rounds and
 * must not hold the node's loop for long.
 */
#define MCAI_NODEPERS_EVAL_MAX	2000

struct mcai_nodepers {
	enum mcai_pers_kind kind;
	bool install;			/* personal.install = personal */
	float lambda;
	char layers[MCAI_CFG_LAYERS_MAX];
	char model[MCAI_NAME_LEN];
	char dir[MCAI_CONFIG_PATH_MAX];
	char hist[MCAI_CONFIG_PATH_MAX + 16];
	char state[MCAI_CONFIG_PATH_MAX + MCAI_NAME_LEN + 16];

	struct mcai_prov_key *key;	/* the node's own, private */
	struct mcai_prov_trust *trust;	/* that key alone */
	struct mcai_prov_current cur;	/* newest personal version */
	char keyhex[MCAI_PROV_KEYID_HEX + 1];

	bool have_shape;
	u32 mask;
	struct mcai_pers_split split;
	u32 n_params;
	float *v;			/* FedPer: the personal layers; Ditto: v */
	bool have_v;
	struct mcai_pers_state st;

	struct mcai_dataset test;	/* the data directory's test split */
	bool test_tried;
	u64 rng;

	/* The fleet version whose personal one is due (0 none). */
	uint32_t due;
	uint64_t due_round;
	s8 *due_tv;			/* its test vectors' inputs */
	u32 due_tv_count;
};

enum mcai_pers_kind mcai_nodepers_kind(const struct mcai_nodepers *p)
{
	return p ? p->kind : MCAI_PERS_NONE;
}

bool mcai_nodepers_installs(const struct mcai_nodepers *p)
{
	/* until its first personal version a node runs the fleet's */
	return p && p->install && p->cur.version;
}

int mcai_nodepers_new(struct mcai_nodepers **out, const struct mcai_config *c)
{
	struct mcai_nodepers *p;
	char err[MCAI_PROV_ERR_MAX], path[MCAI_CONFIG_PATH_MAX + 32];
	int r;

	*out = NULL;
	if (c->personal_mode == MCAI_CFG_PERS_OFF)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->kind = c->personal_mode == MCAI_CFG_PERS_FEDPER ? MCAI_PERS_FEDPER :
		  MCAI_PERS_DITTO;
	p->install = c->personal_install == MCAI_CFG_PERS_INSTALL_PERSONAL;
	p->lambda = c->personal_lambda;
	p->rng = 0x9e75;
	snprintf(p->layers, sizeof(p->layers), "%s", c->personal_layers);
	snprintf(p->model, sizeof(p->model), "%s", c->model);
	snprintf(p->dir, sizeof(p->dir), "%s", c->personal_dir);
	snprintf(p->hist, sizeof(p->hist), "%s/history", p->dir);
	snprintf(p->state, sizeof(p->state), "%s/%s.state", p->dir, p->model);
	snprintf(p->cur.name, sizeof(p->cur.name), "%s", p->model);
	if ((mkdir(p->dir, 0700) && errno != EEXIST) ||
	    (mkdir(p->hist, 0700) && errno != EEXIST)) {
		r = -errno;
		mcai_err("personal.dir %s: %s", p->dir, strerror(-r));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/" MCAI_PROV_KEY_FILE, p->dir);
	if (access(path, F_OK)) {
		r = mcai_prov_keygen(p->dir, NULL, err, sizeof(err));
		if (r) {
			mcai_err("personal.dir: the node's signer key: %s", err);
			goto fail;
		}
		mcai_info("personal: made this node's signer key in %s", p->dir);
	}
	r = mcai_prov_key_load(&p->key, path, err, sizeof(err));
	if (!r && !mcai_prov_key_is_private(p->key)) {
		snprintf(err, sizeof(err), "%s: not a private key",
			 MCAI_PROV_KEY_FILE);
		r = -EINVAL;
	}
	if (!r)
		r = mcai_prov_trust_new(&p->trust);
	if (!r)
		r = mcai_prov_trust_add(p->trust, p->key);
	if (r) {
		mcai_err("personal: %s", err);
		goto fail;
	}
	r = mcai_prov_history_current(p->hist, p->model, &p->cur, err,
				      sizeof(err));
	if (r) {
		mcai_err("personal history: %s", err);
		goto fail;
	}
	mcai_prov_keyid_hex(mcai_prov_key_id(p->key), p->keyhex);
	mcai_info("personal: %s%s%s%s, versions signed by this node's key %s in %s (newest personal version %u); /dev/mcai runs the %s versions",
		  mcai_pers_kind_name(p->kind),
		  p->kind == MCAI_PERS_FEDPER ? " (personal layers '" : "",
		  p->kind == MCAI_PERS_FEDPER ? p->layers : "",
		  p->kind == MCAI_PERS_FEDPER ? "')" : "", p->keyhex, p->dir,
		  p->cur.version, p->install ? "personal" : "fleet's");
	*out = p;
	return 0;
fail:
	mcai_nodepers_free(p);
	return r ? r : -EINVAL;
}

void mcai_nodepers_free(struct mcai_nodepers *p)
{
	if (!p)
		return;
	mcai_prov_key_free(p->key);
	mcai_prov_trust_free(p->trust);
	mcai_dataset_free(&p->test);
	free(p->due_tv);
	free(p->v);
	free(p);
}

int mcai_nodepers_shape(struct mcai_nodepers *p,
			const struct mcai_fedmlp_shape *s, u32 n_params)
{
	struct mcai_pers_state st;
	char err[512];
	float *v;
	u32 mask = 0;
	int r;

	if (p->kind == MCAI_PERS_FEDPER) {
		if (mcai_pers_layers_parse(p->layers, s->n_dims - 1, &mask) ||
		    mcai_pers_split_init(&p->split, s->dim, s->n_dims, mask)) {
			mcai_err("personal.layers '%s' does not fit a model of %u weight layers (indices 0..%u or -1..-%u, at least one layer shared): this node takes part in no round",
				 p->layers, s->n_dims - 1, s->n_dims - 2,
				 s->n_dims - 1);
			p->have_shape = false;
			return -EINVAL;
		}
		if (p->split.n_params != n_params)
			return -EINVAL;
	}
	if (p->have_shape && p->n_params == n_params && p->mask == mask)
		return 0;
	free(p->v);
	p->v = NULL;
	p->have_v = false;
	p->n_params = n_params;
	p->mask = mask;
	r = mcai_pers_state_load(p->state, &st, &v, err, sizeof(err));
	if (!r && (st.kind != p->kind || st.mask != mask ||
		   st.n_params != n_params)) {
		mcai_warn("personal: %s is of another %s (%s, mask %#x, %u parameters): starting afresh",
			  p->state, "setting or model",
			  mcai_pers_kind_name(st.kind), st.mask, st.n_params);
		free(v);
		r = -ESTALE;
	} else if (r && r != -ENOENT) {
		mcai_warn("personal: %s: starting afresh", err);
	}
	if (!r) {
		p->v = v;
		p->have_v = true;
		p->st = st;
		mcai_info("personal: state restored from %s (%s, trained on version %u in round %llu)",
			  p->state, mcai_pers_kind_name(st.kind), st.version,
			  (unsigned long long)st.round);
	} else {
		p->v = calloc(n_params, sizeof(float));
		if (!p->v)
			return -ENOMEM;
	}
	p->have_shape = true;
	return 0;
}

void mcai_nodepers_round_params(const struct mcai_nodepers *p,
				const float *base, float *out)
{
	memmove(out, base, (size_t)p->n_params * sizeof(float));
	if (p->kind == MCAI_PERS_FEDPER && p->have_v)
		mcai_pers_copy_personal(&p->split, p->v, out);
}

static void mcai_nodepers_save(struct mcai_nodepers *p)
{
	char err[512];

	if (mcai_pers_state_save(p->state, &p->st, p->v, err, sizeof(err)))
		mcai_err("personal: state not saved: %s", err);
}

u32 mcai_nodepers_trained(struct mcai_nodepers *p, struct mcai_mlp *net,
			  const float *base, uint32_t base_version,
			  const struct mcai_msg_round *r, float *delta,
			  const struct mcai_nodepers_data *data,
			  float momentum)
{
	u32 n = p->n_params;

	p->st.kind = p->kind;
	p->st.mask = p->mask;
	p->st.n_params = n;
	p->st.version = base_version;
	p->st.round = r->round_id;
	if (p->kind == MCAI_PERS_FEDPER) {
		/* The trained head stays; the body's delta goes out. */
		mcai_pers_copy_personal(&p->split, net->params, p->v);
		p->have_v = true;
		mcai_nodepers_save(p);
		mcai_pers_pack(&p->split, delta, delta);
		mcai_info("round %llu: fedper: %u of %u parameters go out (the shared layers), %u personal ones stay",
			  (unsigned long long)r->round_id, p->split.n_shared,
			  n, n - p->split.n_shared);
		return p->split.n_shared;
	}
	/* Ditto: v <- v - lr (grad F(v) + lambda (v - w)), w the global. */
	{
		struct mcai_mlp_opt base_opt = { .momentum = momentum };
		struct mcai_mlp_opt o = mcai_pers_ditto_opt(&base_opt,
							    p->lambda, base);
		struct mcai_mlp_sched sch = { .lr = r->lr };
		struct mcai_mlp_stats st = { 0 };
		u32 *idx = malloc((size_t)(data->count ? data->count : 1) *
				  sizeof(*idx));
		u32 e;

		if (!idx) {
			mcai_err("round %llu: ditto: out of memory",
				 (unsigned long long)r->round_id);
			return n;
		}
		memcpy(idx, data->idx, (size_t)data->count * sizeof(*idx));
		mcai_mlp_set_params(net, p->have_v ? p->v : base);
		mcai_mlp_reset_opt(net);
		for (e = 0; e < r->local_epochs; e++)
			mcai_mlp_train_epoch(net, &o, &sch, &data->d, idx,
					     data->count,
					     r->batch ? r->batch : 1, &p->rng,
					     &st);
		free(idx);
		mcai_mlp_get_params(net, p->v);
		p->have_v = true;
		mcai_nodepers_save(p);
		mcai_info("round %llu: ditto: personal model trained towards version %u (lambda %g), loss %.4f, train acc %.4f",
			  (unsigned long long)r->round_id, base_version,
			  (double)p->lambda, st.seen ? st.loss / st.seen : 0.0,
			  st.seen ? (double)st.correct / st.seen : 0.0);
	}
	return n;
}

/*
 * Accuracy of @params on the node's own data: the test split weighted by
 * the node's label mix when there are images, else the local samples.
 * *what says which.
 */
static double mcai_nodepers_acc(struct mcai_nodepers *p, struct mcai_mlp *net,
				const float *params,
				const struct mcai_nodepers_data *data,
				const u32 *counts, u32 classes,
				const char **what)
{
	u32 correct[MCAI_PROV_STATS_MAX_CLASSES] = { 0 };
	u32 total[MCAI_PROV_STATS_MAX_CLASSES] = { 0 };
	float *x = calloc(net->dim[0], sizeof(float));
	u32 i, y;

	if (!x)
		return -1;
	mcai_mlp_set_params(net, params);
	if (data->images && p->test.count) {
		for (i = 0; i < p->test.count && i < MCAI_NODEPERS_EVAL_MAX;
		     i++) {
			mcai_fed_get_image(&p->test, i, x, &y);
			if (y >= classes)
				continue;
			total[y]++;
			correct[y] += mcai_mlp_predict(net, x) == y;
		}
		free(x);
		*what = "the test split weighted by this node's label mix";
		return mcai_pers_weighted_acc(correct, total, counts, classes);
	}
	for (i = 0; i < data->count; i++) {
		data->d.get(data->d.ctx, data->idx[i], x, &y);
		if (y >= classes)
			continue;
		total[y]++;
		correct[y] += mcai_mlp_predict(net, x) == y;
	}
	free(x);
	*what = "this node's samples";
	return mcai_pers_weighted_acc(correct, total, total, classes);
}

static int mcai_nodepers_write(const char *path, const void *p, size_t n)
{
	char err[256];
	int r = mcai_atomic_write(path, p, n, 0600, err, sizeof(err));

	if (r)
		mcai_err("personal: %s", err);
	return r;
}

int mcai_nodepers_due(struct mcai_nodepers *p, const struct mcai_msg_model *m,
		      const struct mcai_model *mm, u32 inputs)
{
	u32 i;

	if (m->version <= p->cur.version)
		return 0;
	free(p->due_tv);
	p->due_tv = NULL;
	p->due_tv_count = 0;
	p->due = m->version;
	p->due_round = m->round_id;
	if (!mm->tv_count || inputs > mm->input_len)
		return 0;
	p->due_tv = malloc((size_t)mm->tv_count * inputs);
	if (!p->due_tv)
		return -ENOMEM;
	for (i = 0; i < mm->tv_count; i++)
		memcpy(p->due_tv + (size_t)i * inputs,
		       mm->tv + (size_t)i * (mm->input_len + mm->output_len),
		       inputs);
	p->due_tv_count = mm->tv_count;
	return 0;
}

uint32_t mcai_nodepers_due_version(const struct mcai_nodepers *p)
{
	return p ? p->due : 0;
}

int mcai_nodepers_build(struct mcai_nodepers *p, const float *global,
			const struct mcai_fedmlp_shape *s,
			struct mcai_mlp *net,
			const struct mcai_nodepers_data *data,
			struct mcai_dev *dev)
{
	u32 counts[MCAI_PROV_STATS_MAX_CLASSES] = { 0 };
	char err[MCAI_PROV_ERR_MAX], path[MCAI_CONFIG_PATH_MAX + 64];
	char mpath[MCAI_CONFIG_PATH_MAX + 80];
	const u32 classes = s->classes < MCAI_PROV_STATS_MAX_CLASSES ?
			    s->classes : MCAI_PROV_STATS_MAX_CLASSES;
	struct mcai_prov_manifest pm, chk;
	struct mcai_load_reply rep;
	uint8_t *sm = NULL;
	size_t sm_len = 0;
	const struct { uint32_t version; uint64_t round_id; } mv = {
		p->due, p->due_round,
	}, *m = &mv;
	float *pers = NULL, *x = NULL;
	u8 *blob = NULL;
	u32 blob_len = 0, i, y, calib;
	const char *what = "";
	double acc_p, acc_g;
	int v, ret = 0;

	if (!p->have_shape || !p->due)
		return 0;
	p->due = 0;
	if (!p->have_v) {
		mcai_info("personal: version %u not personalised: no personal training yet",
			  m->version);
		return 0;
	}
	if (m->version <= p->cur.version) {
		mcai_dbg("personal: version %u already built (newest personal %u)",
			 m->version, p->cur.version);
		return 0;
	}
	if (data->images && !p->test_tried) {
		p->test_tried = true;
		if (mcai_fed_load_split(&p->test, data->data_dir, "t10k", err,
					sizeof(err)))
			mcai_warn("personal: no test split (%s): measured on the local samples",
				  err);
	}
	pers = malloc((size_t)p->n_params * sizeof(float));
	x = calloc(s->dim[0], sizeof(float));
	sm = malloc(MCAI_PROV_MANIFEST_MAX);
	if (!pers || !x || !sm)
		goto oom;
	if (p->kind == MCAI_PERS_FEDPER) {
		memcpy(pers, global, (size_t)p->n_params * sizeof(float));
		mcai_pers_copy_personal(&p->split, p->v, pers);
	} else {
		memcpy(pers, p->v, (size_t)p->n_params * sizeof(float));
	}
	for (i = 0; i < data->count; i++) {
		data->d.get(data->d.ctx, data->idx[i], x, &y);
		if (y < classes)
			counts[y]++;
	}
	acc_g = mcai_nodepers_acc(p, net, global, data, counts, classes,
				  &what);
	acc_p = mcai_nodepers_acc(p, net, pers, data, counts, classes, &what);
	mcai_info("personal: version %u (%s) on this node's own data (%s): personal %.4f, global %.4f (%+.1f points)",
		  m->version, mcai_pers_kind_name(p->kind), what, acc_p, acc_g,
		  100.0 * (acc_p - acc_g));

	/* The fleet version's test vectors, answered by the personal one. */
	calib = data->count < MCAI_NODEPERS_CALIB ? data->count :
		MCAI_NODEPERS_CALIB;
	mcai_mlp_set_params(net, pers);
	blob = mcai_fedmlp_blob(net, s, &data->d, data->idx, calib, p->model,
				m->version, p->due_tv, p->due_tv_count,
				&blob_len, err,
				sizeof(err));
	if (!blob) {
		mcai_err("personal: version %u not quantised: %s", m->version,
			 err);
		goto out;
	}
	mcai_prov_manifest_init(&pm);
	snprintf(pm.name, sizeof(pm.name), "%s", p->model);
	pm.version = m->version;
	pm.parent = p->cur.version < m->version ? p->cur.version : 0;
	pm.round = m->round_id;
	snprintf(pm.strategy, sizeof(pm.strategy), "%s",
		 mcai_pers_kind_name(p->kind));
	pm.participants = 1;
	pm.blob_len = blob_len;
	mcai_sha256(blob, blob_len, pm.blob_sha256);
	pm.n_params = p->n_params;
	mcai_sha256(pers, (size_t)p->n_params * sizeof(float),
		    pm.params_sha256);
	pm.created = time(NULL);
	pm.accuracy = acc_p >= 0 && acc_p <= 1 ? acc_p : -1;
	if (mcai_prov_sign(p->key, &pm, sm, MCAI_PROV_MANIFEST_MAX, &sm_len,
			   err, sizeof(err))) {
		mcai_err("personal: version %u not signed: %s", m->version,
			 err);
		goto out;
	}
	/* What any installer checks: the node's key, the chain, the blob. */
	v = mcai_prov_check(p->trust, &p->cur, sm, sm_len, blob, blob_len,
			    MCAI_PROV_MODEL, &chk, err, sizeof(err));
	if (v != MCAI_PROV_OK) {
		mcai_err("personal: version %u refused by its own check: %s: %s",
			 m->version, mcai_prov_verdict_name(v), err);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s-v%08u.blob", p->dir, p->model,
		 m->version);
	snprintf(mpath, sizeof(mpath), "%s.manifest", path);
	if (mcai_nodepers_write(path, blob, blob_len) ||
	    mcai_nodepers_write(mpath, sm, sm_len))
		goto out;
	if (mcai_prov_history_append(p->hist, sm, sm_len, -1, 0, err,
				     sizeof(err))) {
		mcai_err("personal: version %u not recorded: %s", m->version,
			 err);
		goto out;
	}
	p->cur.version = pm.version;
	memcpy(p->cur.blob_sha256, pm.blob_sha256, MCAI_DIGEST_LEN);
	mcai_info("personal: version %u (%s, parent %u) signed by this node (key %s), %u bytes, recorded in %s",
		  m->version, mcai_pers_kind_name(p->kind), pm.parent,
		  p->keyhex, blob_len, p->hist);
	if (!p->install || !dev)
		goto out;
	/*
	 * Forced: the fleet's version of the same number may be running;
	 * the chain check above is what refuses a replay.
	 */
	if (mcai_dev_load(dev, blob, blob_len, MCAI_LOAD_FORCE, &rep)) {
		mcai_warn("/dev/mcai: personal version %u not installed: %s",
			  m->version, mcai_dev_error(dev));
		goto out;
	}
	mcai_info("/dev/mcai: personal model '%s' version %u installed (was %u)",
		  p->model, rep.version, rep.replaced_version);
	ret = 1;
	goto out;
oom:
	mcai_err("personal: version %u: out of memory", m->version);
out:
	free(pers);
	free(x);
	free(sm);
	free(blob);
	return ret;
}
