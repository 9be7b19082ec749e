// SPDX-License-Identifier: GPL-2.0
/*
 * Escalation to a bigger model: runtime/daemon/escalate.h says what and
 * why.  No logging here (the daemon logs from the alert callback and the
 * counters), so the unit tests link it without the daemon.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi/mcai.h"
#include "models/engine/model.h"
#include "runtime/daemon/escalate.h"
#include "runtime/fed/modelcheck.h"
#include "runtime/fed/samples.h"

/* The largest blob read from escalate.model (the module's widest). */
#define MCAI_ESC_MAX_BLOB	(64U << 20)

struct mcai_escalate {
	struct mcai_model m;
	uint8_t *blob;
	void *arena;
	int8_t *scores, *input;
	uint32_t input_cap;
	struct mcai_esc_bucket bucket;
	bool label;
	mcai_esc_alert_fn alert;
	void *alert_arg;
	struct mcai_esc_stats st;
};

void mcai_esc_bucket_init(struct mcai_esc_bucket *b, double rate,
			  double burst, uint64_t now_ms)
{
	b->rate = rate;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

bool mcai_esc_bucket_take(struct mcai_esc_bucket *b, uint64_t now_ms)
{
	/* a clock that went back (it should not) refills nothing */
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ms = now_ms;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

static int esc_err(char *err, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return r;
}

static int esc_read_blob(const char *path, uint8_t **out, size_t *size,
			 char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int r;

	if (!f)
		return esc_err(err, errlen, -errno, "escalate.model %s: %s",
			       path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		r = -errno;
		fclose(f);
		return esc_err(err, errlen, r, "escalate.model %s: %s", path,
			       strerror(-r));
	}
	if (n == 0 || (unsigned long)n > MCAI_ESC_MAX_BLOB) {
		fclose(f);
		return esc_err(err, errlen, -EFBIG,
			       "escalate.model %s: %ld bytes (1 .. %u)", path,
			       n, MCAI_ESC_MAX_BLOB);
	}
	buf = malloc((size_t)n);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return esc_err(err, errlen, -EIO, "escalate.model %s: short read",
			       path);
	}
	fclose(f);
	*out = buf;
	*size = (size_t)n;
	return 0;
}

int mcai_escalate_new(struct mcai_escalate **out,
		      const struct mcai_escalate_opts *o, uint64_t now_ms,
		      char *err, size_t errlen)
{
	struct mcai_escalate *e;
	struct mcai_limits lim;
	struct mcai_verdict v;
	size_t size = 0;
	u32 failed;
	int r;

	*out = NULL;
	if (!o->model_path || !o->model_path[0] || !(o->rate > 0) ||
	    !o->burst)
		return esc_err(err, errlen, -EINVAL,
			       "escalation needs a model, a rate > 0, a burst >= 1");
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = esc_read_blob(o->model_path, &e->blob, &size, err, errlen);
	if (r)
		goto fail;
	mcai_limits_widest(&lim);
	if (mcai_model_check_blob(&e->m, e->blob, size, &lim, &v)) {
		r = esc_err(err, errlen, -EINVAL,
			    "escalate.model %s: refused: %s at offset %u",
			    o->model_path, v.reason, v.offset);
		goto fail_blob;
	}
	/* the kernel's pipelines read int8 scores; so does the comparison */
	if (e->m.output_dtype != MCAI_DT_INT8 || !e->m.input_len ||
	    !e->m.output_len) {
		r = esc_err(err, errlen, -EINVAL,
			    "escalate.model %s: needs int8 inputs and scores",
			    o->model_path);
		goto fail_model;
	}
	e->arena = aligned_alloc(8, ((size_t)e->m.arena_size + 8) & ~(size_t)7);
	e->scores = calloc(1, e->m.output_len);
	e->input = calloc(1, e->m.input_len);
	if (!e->arena || !e->scores || !e->input) {
		r = -ENOMEM;
		goto fail_model;
	}
	e->input_cap = e->m.input_len;
	/* what the module checks at MODEL_LOAD, so no surprise later */
	r = mcai_model_check_vectors(&e->m, &failed);
	if (r) {
		r = esc_err(err, errlen, r == -ENOMEM ? -ENOMEM : -EINVAL,
			    "escalate.model %s: test vector %u fails",
			    o->model_path, failed);
		goto fail_model;
	}
	mcai_esc_bucket_init(&e->bucket, o->rate, o->burst, now_ms);
	e->label = o->label;
	*out = e;
	return 0;
fail_model:
	mcai_model_check_free(&e->m);
fail_blob:
	free(e->blob);
fail:
	free(e->arena);
	free(e->scores);
	free(e->input);
	free(e);
	return r;
}

void mcai_escalate_free(struct mcai_escalate *e)
{
	if (!e)
		return;
	mcai_model_check_free(&e->m);
	free(e->blob);
	free(e->arena);
	free(e->scores);
	free(e->input);
	free(e);
}

void mcai_escalate_set_alert(struct mcai_escalate *e, mcai_esc_alert_fn fn,
			     void *arg)
{
	e->alert = fn;
	e->alert_arg = arg;
}

const char *mcai_escalate_model_name(const struct mcai_escalate *e)
{
	return e->m.name;
}

int mcai_escalate_run(struct mcai_escalate *e, const int8_t *input,
		      uint32_t len, int32_t *cls, int32_t *score)
{
	int c;

	if (len != e->m.input_len)
		return -EINVAL;
	c = mcai_model_run(&e->m, input, e->scores, e->arena);
	if (c < 0)
		return -EINVAL;
	*cls = c;
	/* the winning score as kernel/pipeline.c reads it */
	*score = e->m.head == MCAI_HEAD_THRESHOLD ? e->scores[0] :
		 (uint32_t)c < e->m.output_len ? e->scores[c] : 0;
	return 0;
}

void mcai_escalate_scan(struct mcai_escalate *e, struct mcai_samples *st,
			uint64_t added, uint64_t now_ms)
{
	struct mcai_esc_answer *ans = NULL;
	struct mcai_samples_stats ss;
	uint64_t first, n = 0;
	u64 *ids = NULL;
	u32 *cls = NULL;

	if (!e || !st || !added)
		return;
	mcai_samples_get_stats(st, &ss);
	/* the drain's samples are the newest; eviction only takes old ones */
	first = ss.samples > added ? ss.samples - added : 0;
	if (ss.samples > UINT32_MAX)
		return;
	for (uint64_t i = first; i < ss.samples; i++) {
		const struct mcai_sample_meta *m = mcai_samples_at(st, (u32)i);
		struct mcai_esc_answer a;

		if (!m || !(m->flags & MCAI_RES_ESCALATE))
			continue;
		e->st.seen++;
		if (!mcai_esc_bucket_take(&e->bucket, now_ms)) {
			e->st.limited++;
			continue;
		}
		if (!ans) {
			size_t k = (size_t)(ss.samples - i);

			ans = calloc(k, sizeof(*ans));
			ids = calloc(k, sizeof(*ids));
			cls = calloc(k, sizeof(*cls));
			if (!ans || !ids || !cls) {
				e->st.failed++;
				goto out;
			}
		}
		memset(&a, 0, sizeof(a));
		a.sample_id = m->id;
		a.small_model_id = m->model_id;
		a.small_version = m->version;
		a.small_class = m->class_id;
		a.small_score = m->score;
		if (m->input_len != e->input_cap ||
		    mcai_samples_input(st, (u32)i, e->input, m->input_len) ||
		    mcai_escalate_run(e, e->input, m->input_len, &a.big_class,
				      &a.big_score) ||
		    a.big_class < 0 || a.big_class > MCAI_SAMPLES_MAX_CLASS) {
			e->st.failed++;
			continue;
		}
		ids[n] = a.sample_id;
		cls[n] = (u32)a.big_class;
		ans[n++] = a;
	}
	/*
	 * The labels in one write and one sync, after every input was read:
	 * labelling catches up with other processes' changes, which may
	 * renumber what mcai_samples_at() sees.
	 */
	if (n && e->label && mcai_samples_label_many(st, ids, cls, n, NULL)) {
		e->st.failed += n;
		goto out;
	}
	for (uint64_t j = 0; j < n; j++) {
		e->st.routed++;
		e->st.agreed += ans[j].big_class == ans[j].small_class;
		if (e->alert)
			e->alert(e->alert_arg, e->m.name, &ans[j]);
	}
out:
	free(ans);
	free(ids);
	free(cls);
}

void mcai_escalate_get_stats(const struct mcai_escalate *e,
			     struct mcai_esc_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (e)
		*s = e->st;
}
