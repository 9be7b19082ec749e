// SPDX-License-Identifier: GPL-2.0
/*
 * Guest test of pipelines (MCAI_IOC_PIPELINE_CREATE, MCAI_IOC_INFER with
 * MCAI_INFER_PIPELINE): a detector/classifier chain, vote and weighted
 * average ensembles and their escalation flags, each result bit-exact
 * with the same pipeline computed here from the user-space engine; the
 * gate's savings counted exactly; hostile creation requests; pipelines
 * dying with their file; members swapped, reshaped or unloaded.
 *
 *   pipe_check          run everything (as root); exit 0 pass, 1 fail
 */
#include <sys/wait.h>

#include "pipe_common.h"

#define IN 16
#define OUT 5
#define NS 300

static struct tmodel det, cls, e[4], odd, short_in, thr2;
static u32 id_det, id_cls, id_e[4], id_odd, id_short, id_thr2;

static int pcreate(int fd, const char *name, u32 type, u32 n, const u32 *ids,
		   const u16 *w, s32 fire, s32 esc, u32 *pid)
{
	struct mcai_pipeline_create c = {
		.size = sizeof(c), .type = type, .n_models = n,
		.fire_class = fire, .escalate_below = esc,
	};
	u32 i;
	int r;

	set_name(c.name, name);
	for (i = 0; i < n && i < MCAI_PIPE_MAX_MODELS; i++) {
		c.model_ids[i] = ids[i];
		c.weights[i] = w ? w[i] : 0;
	}
	r = ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c);
	if (pid)
		*pid = c.pipeline_id;
	return r;
}

static void gen(u32 *seed, s8 *in)
{
	u32 j;

	for (j = 0; j < IN; j++)
		in[j] = (s8)rnd(seed);
}

static s8 div_round(s32 num, u32 den)
{
	u32 a = num < 0 ? (u32)-num : (u32)num;
	u32 q = (2 * a + den) / (2 * den);

	return (s8)(num < 0 ? -(s32)q : (s32)q);
}

/* The expected result of a pipeline, computed in user space. */
struct expect {
	int cls;
	u32 flags;
	u32 n_scores;
	s8 sc[MAX_OUT];
	const struct tmodel *answer;
};

static void ref_chain(const s8 *in, int fire, int esc, struct expect *x)
{
	int c = urun(&det, in, x->sc);
	const struct tmodel *t = &det;

	x->flags = 0;
	if (c != fire) {
		x->flags |= MCAI_RES_GATED;
	} else {
		t = &cls;
		c = urun(&cls, in, x->sc);
	}
	x->cls = c;
	x->answer = t;
	x->n_scores = t->m.output_len;
	if ((t->m.head == MCAI_HEAD_THRESHOLD ? x->sc[0] : x->sc[c]) < esc)
		x->flags |= MCAI_RES_ESCALATE;
}

static void ref_ens(const struct tmodel *const *m, u32 n, const u16 *w,
		    int vote, int esc, const s8 *in, struct expect *x)
{
	s8 sc[MCAI_PIPE_MAX_MODELS][MAX_OUT];
	int c[MCAI_PIPE_MAX_MODELS], best = 0, k;
	u32 i, j, out = m[0]->m.output_len, wsum = 0, votes[MAX_OUT] = { 0 };
	u32 wt[MCAI_PIPE_MAX_MODELS];
	int disagree = 0;

	for (i = 0; i < n; i++) {
		wt[i] = vote ? 1 : (w ? w[i] : 0);
		wsum += wt[i];
	}
	if (!vote && !wsum) {
		for (i = 0; i < n; i++)
			wt[i] = 256;
		wsum = 256 * n;
	}
	for (i = 0; i < n; i++) {
		c[i] = urun(m[i], in, sc[i]);
		disagree |= c[i] != c[0];
		votes[c[i]]++;
	}
	for (j = 0; j < out; j++) {
		s32 num = 0;

		for (i = 0; i < n; i++)
			num += (s32)wt[i] * sc[i][j];
		x->sc[j] = div_round(num, wsum);
	}
	if (vote) {
		for (k = 1; k < MAX_OUT; k++)
			if (votes[k] > votes[best])
				best = k;
	} else {
		best = mcai_engine_head(&m[0]->m, x->sc);
	}
	x->cls = best;
	x->n_scores = out;
	x->answer = m[0];
	x->flags = disagree ? MCAI_RES_ESCALATE : 0;
	if ((m[0]->m.head == MCAI_HEAD_THRESHOLD ? x->sc[0] : x->sc[best]) < esc)
		x->flags |= MCAI_RES_ESCALATE;
}

static int same(const struct expect *x, const struct mcai_infer *r,
		const s8 *ks, u32 ver)
{
	return r->class_id == x->cls && r->result_flags == x->flags &&
	       r->scores_len == x->n_scores && r->version == ver &&
	       !memcmp(ks, x->sc, x->n_scores);
}

static void test_chain(int fd)
{
	u32 pid, ids[2] = { id_det, id_cls }, seed = 5, k, ok = 0, gated = 0;
	u64 before_det, before_cls;
	struct mcai_infer r;
	struct expect x;
	s8 in[IN], ks[MAX_OUT];

	EXPECT_OK(pcreate(fd, "chain1", MCAI_PIPE_CHAIN, 2, ids, NULL, 1, -129,
			  &pid));
	CHECK(pid, "no pipeline id");
	before_det = model_inferences(fd, id_det);
	before_cls = model_inferences(fd, id_cls);
	for (k = 0; k < NS; k++) {
		gen(&seed, in);
		ref_chain(in, 1, -129, &x);
		gated += !!(x.flags & MCAI_RES_GATED);
		if (infer(fd, MCAI_INFER_PIPELINE, k & 1 ? pid : 0,
			  k & 1 ? NULL : "chain1", in, IN, ks, MAX_OUT, &r)) {
			fail(__LINE__, "chain infer: %s", strerror(errno));
			continue;
		}
		ok += same(&x, &r, ks, 1);
	}
	CHECK(ok == NS, "chain: %u of %u bit-exact", ok, NS);
	CHECK(gated > NS / 5 && gated < NS * 4 / 5, "chain: %u gated: bad test model",
	      gated);
	{
		struct mcai_model_stats st = { .size = sizeof(st),
					       .ref.model_id = id_cls };

		EXPECT_OK(ioctl(fd, MCAI_IOC_MODEL_STATS, &st));
		CHECK(st.samples == before_cls + NS - gated,
		      "chain: stage-2 drift samples %llu, want %llu",
		      (unsigned long long)st.samples,
		      (unsigned long long)(before_cls + NS - gated));
	}
	CHECK(model_inferences(fd, id_det) == before_det + NS &&
	      model_inferences(fd, id_cls) == before_cls + NS - gated,
	      "chain: the gate should have saved exactly %u of %u stage-2 runs",
	      gated, NS);
	printf("%s: chain: %u samples, %u stage-2 runs saved by the gate\n",
	       prog, NS, gated);

	/* Escalation on the answering stage's winning score. */
	EXPECT_OK(pcreate(fd, "chain2", MCAI_PIPE_CHAIN, 2, ids, NULL, 1, 20,
			  &pid));
	for (k = 0, ok = 0; k < 100; k++) {
		gen(&seed, in);
		ref_chain(in, 1, 20, &x);
		if (!infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN, ks,
			   MAX_OUT, &r))
			ok += same(&x, &r, ks, 1);
	}
	CHECK(ok == 100, "chain escalate_below 20: %u of 100", ok);

	/* Room for fewer scores than the widest stage: refused. */
	EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN, ks,
			 OUT - 1, &r), EINVAL);
	EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN - 1, ks,
			 MAX_OUT, &r), EINVAL);
	/* Class only. */
	EXPECT_OK(infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN, NULL, 0, &r));
}

static void run_ens(int fd, const char *name, u32 type,
		    const struct tmodel *const *m, const u32 *ids, u32 n,
		    const u16 *w, int esc, u32 nsamples, u32 *escalated)
{
	u32 pid, seed = 77, k, ok = 0, esc_n = 0;
	struct mcai_infer r;
	struct expect x;
	s8 in[IN], ks[MAX_OUT];

	if (pcreate(fd, name, type, n, ids, w, 0, esc, &pid)) {
		fail(__LINE__, "%s: create: %s", name, strerror(errno));
		return;
	}
	for (k = 0; k < nsamples; k++) {
		gen(&seed, in);
		ref_ens(m, n, w, type == MCAI_PIPE_ENSEMBLE_VOTE, esc, in, &x);
		esc_n += !!(x.flags & MCAI_RES_ESCALATE);
		if (infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN, ks,
			  MAX_OUT, &r)) {
			fail(__LINE__, "%s infer: %s", name, strerror(errno));
			continue;
		}
		ok += same(&x, &r, ks, m[0]->m.version);
	}
	CHECK(ok == nsamples, "%s: %u of %u bit-exact", name, ok, nsamples);
	printf("%s: %s: %u samples bit-exact, %u escalated\n", prog, name,
	       nsamples, esc_n);
	if (escalated)
		*escalated = esc_n;
}

static void test_ensembles(int fd)
{
	const struct tmodel *m3[3] = { &e[0], &e[1], &e[2] };
	const struct tmodel *m2[2] = { &e[0], &e[1] };
	const struct tmodel *mt[2] = { &thr2, &thr2 };
	u32 ids3[3] = { id_e[0], id_e[1], id_e[2] };
	u32 ids2[2] = { id_e[0], id_e[1] };
	u32 idst[2] = { id_thr2, id_thr2 };
	u16 w3[3] = { 256, 128, 64 }, w2[2] = { 300, 1 }, w0[3] = { 0 };
	u32 esc = 0;

	run_ens(fd, "vote3", MCAI_PIPE_ENSEMBLE_VOTE, m3, ids3, 3, NULL, -129,
		NS, &esc);
	CHECK(esc > 0 && esc < NS, "vote3: disagreement never/always (%u)", esc);
	run_ens(fd, "vote2", MCAI_PIPE_ENSEMBLE_VOTE, m2, ids2, 2, NULL, -129,
		NS, NULL);	/* ties go to the lowest class */
	run_ens(fd, "avg3", MCAI_PIPE_ENSEMBLE_AVG, m3, ids3, 3, w3, 30, NS,
		NULL);
	run_ens(fd, "avg3eq", MCAI_PIPE_ENSEMBLE_AVG, m3, ids3, 3, w0, -129,
		100, NULL);
	run_ens(fd, "avg2", MCAI_PIPE_ENSEMBLE_AVG, m2, ids2, 2, w2, 128, 50,
		&esc);
	CHECK(esc == 50, "escalate_below 128 must flag every result");
	run_ens(fd, "avgthr", MCAI_PIPE_ENSEMBLE_AVG, mt, idst, 2, NULL, -129,
		100, &esc);
	CHECK(esc == 0, "identical members never disagree");
}

static void test_hostile(int fd)
{
	struct mcai_pipeline_create c;
	u32 ids[9] = { id_e[0], id_e[1], id_e[2], id_e[0], id_e[1], id_e[2],
		       id_e[0], id_e[1], id_e[2] };
	u32 bad[2];
	u16 w[2] = { 1, 1 };

	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 0, ids, NULL, 0,
			   -129, NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 1, ids, NULL, 0,
			   -129, NULL), EINVAL);
	EXPECT_OK(pcreate(fd, "h8", MCAI_PIPE_ENSEMBLE_VOTE, 8, ids, NULL, 0,
			  -129, NULL));
	c = (struct mcai_pipeline_create){ .size = sizeof(c),
		.type = MCAI_PIPE_ENSEMBLE_VOTE, .n_models = 9,
		.escalate_below = -129 };
	set_name(c.name, "h9");
	memcpy(c.model_ids, ids, sizeof(c.model_ids));
	EXPECT_ERR(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_CHAIN, 3, ids, NULL, 0, -129,
			   NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_CHAIN, 1, ids, NULL, 0, -129,
			   NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", 0, 2, ids, NULL, 0, -129, NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", 4, 2, ids, NULL, 0, -129, NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", 0xffffffffu, 2, ids, NULL, 0, -129, NULL),
		   EINVAL);
	/* Unknown and zero ids. */
	bad[0] = id_e[0];
	bad[1] = 0xfffffff0u;
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 2, bad, NULL, 0,
			   -129, NULL), ENOENT);
	bad[1] = 0;
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 2, bad, NULL, 0,
			   -129, NULL), EINVAL);
	/* Mismatched shapes. */
	bad[1] = id_odd;	/* other output_len */
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_AVG, 2, bad, NULL, 0,
			   -129, NULL), EINVAL);
	bad[1] = id_short;	/* other input_len */
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 2, bad, NULL, 0,
			   -129, NULL), EINVAL);
	bad[0] = id_det;	/* a chain's stages take the same sample */
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_CHAIN, 2, bad, NULL, 1, -129,
			   NULL), EINVAL);
	bad[0] = id_det;	/* threshold head vs argmax head */
	bad[1] = id_e[0];
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 2, bad, NULL, 0,
			   -129, NULL), EINVAL);
	/* fire_class outside stage 1's classes (2), negative; on ensembles. */
	bad[1] = id_cls;
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_CHAIN, 2, bad, NULL, 2, -129,
			   NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_CHAIN, 2, bad, NULL, -1, -129,
			   NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, NULL, 1,
			   -129, NULL), EINVAL);
	/* Weights outside AVG; escalate_below out of range. */
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, w, 0,
			   -129, NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_CHAIN, 2, bad, w, 1, -129, NULL),
		   EINVAL);
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, NULL, 0,
			   -130, NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, NULL, 0,
			   129, NULL), EINVAL);
	/* Names: empty, bad character, padding, duplicate. */
	EXPECT_ERR(pcreate(fd, "", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, NULL, 0,
			   -129, NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "a b", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, NULL, 0,
			   -129, NULL), EINVAL);
	EXPECT_ERR(pcreate(fd, "h8", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, NULL, 0,
			   -129, NULL), EEXIST);
	/* Reserved fields: flags, pad, ids and weights past n_models. */
	c = (struct mcai_pipeline_create){ .size = sizeof(c),
		.type = MCAI_PIPE_ENSEMBLE_AVG, .n_models = 2,
		.escalate_below = -129 };
	set_name(c.name, "hr");
	c.model_ids[0] = id_e[0];
	c.model_ids[1] = id_e[1];
	c.flags = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c), EINVAL);
	c.flags = 0;
	c.pad = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c), EINVAL);
	c.pad = 0;
	c.model_ids[2] = id_e[2];
	EXPECT_ERR(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c), EINVAL);
	c.model_ids[2] = 0;
	c.weights[5] = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c), EINVAL);
	c.weights[5] = 0;
	c.name[20] = 'x';	/* garbage after the NUL */
	EXPECT_ERR(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c), EINVAL);
	c.name[20] = 0;
	c.size = sizeof(c) - 4;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c), EINVAL);
	c.size = sizeof(c);
	EXPECT_OK(ioctl(fd, MCAI_IOC_PIPELINE_CREATE, &c));
	/* Pipeline inference on an unknown pipeline, or a model id. */
	{
		s8 in[IN] = { 0 };

		EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, 0xfffffff0u, NULL,
				 in, IN, NULL, 0, NULL), ENOENT);
		EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, 0, "nope", in, IN,
				 NULL, 0, NULL), ENOENT);
	}
}

/* A pipeline is gone with its file; models it held are freed then. */
static void test_lifetime(int fd)
{
	u32 ids[2] = { id_e[0], id_e[1] }, pid;
	struct mcai_infer r = { 0 };
	s8 in[IN] = { 1, 2, 3 };
	int fd2 = dev_open();

	EXPECT_OK(pcreate(fd2, "ephemeral", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids,
			  NULL, 0, -129, &pid));
	EXPECT_OK(infer(fd, MCAI_INFER_PIPELINE, 0, "ephemeral", in, IN, NULL,
			0, &r));
	close(fd2);
	EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN, NULL, 0,
			 &r), ENOENT);
	EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, 0, "ephemeral", in, IN, NULL,
			 0, &r), ENOENT);
	/* At most 256 pipelines per file. */
	fd2 = dev_open();
	for (int k = 0; k < 256; k++) {
		char nm[24];

		snprintf(nm, sizeof(nm), "cap%d", k);
		if (pcreate(fd2, nm, MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, NULL, 0,
			    -129, NULL)) {
			fail(__LINE__, "pipeline %d: %s", k, strerror(errno));
			break;
		}
	}
	EXPECT_ERR(pcreate(fd2, "cap256", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids, NULL,
			   0, -129, NULL), ENOSPC);
	close(fd2);
	/* The name is free again. */
	fd2 = dev_open();
	EXPECT_OK(pcreate(fd2, "ephemeral", MCAI_PIPE_ENSEMBLE_VOTE, 2, ids,
			  NULL, 0, -129, NULL));
	close(fd2);

	/* The old 80-byte mcai_infer still works (no result_flags). */
	r = (struct mcai_infer){ .size = MCAI_INFER_SIZE_VER1,
		.ref.model_id = id_e[0], .input_ptr = (uintptr_t)in,
		.input_len = IN };
	EXPECT_OK(ioctl(fd, MCAI_IOC_INFER, &r));
	r.size = MCAI_INFER_SIZE_VER1 - 4;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EINVAL);
	r.size = sizeof(r);
	r.result_flags = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EINVAL);
	r.result_flags = 0;
	r.pad = 1;
	EXPECT_ERR(ioctl(fd, MCAI_IOC_INFER, &r), EINVAL);
}

/*
 * Hot swap under load: a child runs an ensemble whose first member the
 * parent keeps replacing (same shape, versions 10, 11, ...); every result
 * must be exactly the ensemble of the version it reports.
 */
static void test_swap_under_load(int fd)
{
	u32 ids[2] = { id_e[1], id_e[2] }, pid;
	int status;
	pid_t child;
	u32 v;

	EXPECT_OK(pcreate(fd, "underload", MCAI_PIPE_ENSEMBLE_AVG, 2, ids,
			  NULL, 0, -129, &pid));
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		static struct tmodel vers[64];
		const struct tmodel *m[2];
		u32 seed = 3, k, ok = 0, seen = 0, last = 0;
		struct mcai_infer r;
		struct expect x;
		s8 in[IN], ks[MAX_OUT];

		for (k = 0; k < 3000; k++) {
			gen(&seed, in);
			if (infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN, ks,
				  MAX_OUT, &r)) {
				fail(__LINE__, "under load: %s", strerror(errno));
				break;
			}
			if (r.version >= 64) {
				fail(__LINE__, "version %u", r.version);
				break;
			}
			if (!vers[r.version].blob)
				tmodel_make(&vers[r.version], "pe1", r.version,
					    IN, OUT, MCAI_HEAD_ARGMAX, 0, 0);
			m[0] = &vers[r.version];
			m[1] = &e[2];
			ref_ens(m, 2, NULL, 0, -129, in, &x);
			ok += same(&x, &r, ks, r.version);
			seen += r.version != last;
			last = r.version;
		}
		CHECK(ok == k, "under load: %u of %u exact", ok, k);
		printf("%s: swap under load: %u results exact, %u version changes seen\n",
		       prog, ok, seen);
		_exit(failures ? 1 : 0);
	}
	for (v = 10; v < 40; v++) {
		struct tmodel t;

		tmodel_make(&t, "pe1", v, IN, OUT, MCAI_HEAD_ARGMAX, 0, 0);
		CHECK(load(fd, &t) == id_e[1], "swap pe1 to %u", v);
		free(t.blob);
		usleep(20000);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "swap-under-load child failed");
}

/* Members swapped (same shape: used), reshaped (-ESTALE), unloaded. */
static void test_members(int fd)
{
	const struct tmodel *m2[2] = { &e[3], &e[1] };
	u32 ids[2] = { id_e[0], id_e[1] }, pid, cid, k, ok = 0, seed = 9;
	u32 cids[2] = { id_det, id_cls };
	struct tmodel v2, v3;
	struct mcai_infer r;
	struct expect x;
	s8 in[IN], ks[MAX_OUT];
	int gated_seen = 0, fired_seen = 0;

	EXPECT_OK(pcreate(fd, "swapme", MCAI_PIPE_ENSEMBLE_AVG, 2, ids, NULL, 0,
			  -129, &pid));
	/* e0 version 2: same shape, other weights. */
	tmodel_make(&v2, "pe0", 2, IN, OUT, MCAI_HEAD_ARGMAX, 0, 0);
	CHECK(load(fd, &v2) == id_e[0], "swap pe0 to v2");
	e[3] = v2;
	for (k = 0; k < 50; k++) {
		gen(&seed, in);
		ref_ens(m2, 2, NULL, 0, -129, in, &x);
		if (!infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN, ks,
			   MAX_OUT, &r))
			ok += same(&x, &r, ks, 2);
	}
	CHECK(ok == 50, "after a swap: %u of 50 on the new version", ok);
	/* Version 3 with 4 scores: the pipeline refuses to run it. */
	tmodel_make(&v3, "pe0", 3, IN, OUT - 1, MCAI_HEAD_ARGMAX, 0, 0);
	CHECK(load(fd, &v3) == id_e[0], "swap pe0 to v3");
	EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, pid, NULL, in, IN, ks,
			 MAX_OUT, &r), ESTALE);

	/* Unloading stage 2 only fails the samples that reach it. */
	EXPECT_OK(pcreate(fd, "chain_u", MCAI_PIPE_CHAIN, 2, cids, NULL, 1,
			  -129, &cid));
	EXPECT_OK(unload_id(fd, id_cls));
	for (k = 0; k < 40; k++) {
		s8 sc[MAX_OUT];
		int fires;

		gen(&seed, in);
		fires = urun(&det, in, sc) == 1;
		if (fires) {
			EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, cid, NULL, in,
					 IN, ks, MAX_OUT, &r), ENOENT);
			fired_seen++;
		} else {
			EXPECT_OK(infer(fd, MCAI_INFER_PIPELINE, cid, NULL, in,
					IN, ks, MAX_OUT, &r));
			CHECK(r.result_flags == MCAI_RES_GATED, "gated flag");
			gated_seen++;
		}
	}
	CHECK(fired_seen && gated_seen, "chain_u: inputs not mixed");
	EXPECT_OK(unload_id(fd, id_det));
	EXPECT_ERR(infer(fd, MCAI_INFER_PIPELINE, cid, NULL, in, IN, ks,
			 MAX_OUT, &r), ENOENT);
	free(v2.blob);
	free(v3.blob);
}

int main(void)
{
	char nm[16];
	long slots;
	int fd, i;

	prog = "pipe_check";
	fd = dev_open();
	/* Detector: threshold head on feature 0 (fires when x0 >= 0). */
	tmodel_make(&det, "pdet", 1, IN, 1, MCAI_HEAD_THRESHOLD, 0, 1);
	tmodel_make(&cls, "pcls", 1, IN, OUT, MCAI_HEAD_ARGMAX, 0, 0);
	for (i = 0; i < 3; i++) {
		snprintf(nm, sizeof(nm), "pe%d", i);
		tmodel_make(&e[i], nm, 1, IN, OUT, MCAI_HEAD_ARGMAX, 0, 0);
	}
	tmodel_make(&odd, "podd", 1, IN, OUT - 1, MCAI_HEAD_ARGMAX, 0, 0);
	tmodel_make(&short_in, "pshort", 1, IN / 2, OUT, MCAI_HEAD_ARGMAX, 0, 0);
	tmodel_make(&thr2, "pthr", 1, IN, 1, MCAI_HEAD_THRESHOLD, 5, 0);
	id_det = load(fd, &det);
	id_cls = load(fd, &cls);
	for (i = 0; i < 3; i++)
		id_e[i] = load(fd, &e[i]);
	id_odd = load(fd, &odd);
	id_short = load(fd, &short_in);
	id_thr2 = load(fd, &thr2);
	if (!id_det || !id_cls || !id_e[0] || !id_e[1] || !id_e[2] ||
	    !id_odd || !id_short || !id_thr2)
		die("load");

	test_chain(fd);
	test_ensembles(fd);
	test_hostile(fd);
	test_lifetime(fd);
	test_members(fd);
	test_swap_under_load(fd);

	/* Unloaded models stay allocated while a pipeline holds them. */
	for (i = 0; i < 3; i++)
		unload_id(fd, id_e[i]);
	unload_id(fd, id_odd);
	unload_id(fd, id_short);
	unload_id(fd, id_thr2);
	slots = read_counter("live_slots");
	CHECK(slots > 0, "pipelines should still hold slots (%ld)", slots);
	close(fd);
	slots = read_counter("live_slots");
	CHECK(slots == 0, "live_slots %ld after the last file closed", slots);
	CHECK(read_counter("live_bytes") == 0, "live_bytes %ld",
	      read_counter("live_bytes"));
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", prog, failures);
		return 1;
	}
	printf("%s: all checks passed\n", prog);
	return 0;
}
