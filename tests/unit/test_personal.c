// SPDX-License-Identifier: GPL-2.0
/*
 * Personalisation (runtime/fed/personal.c): the FedPer split of an MLP's
 * parameter vector, checked on the serialized UPDATE (the personal
 * layers' values never reach the bytes, the shared ones arrive in order),
 * the layer lists, Ditto's proximal step against a hand-worked one, and
 * the accuracy on a node's own label distribution.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "runtime/fed/personal.h"
#include "runtime/fed/proto.h"

/*
 * 4-3-2: layer 0 is W0 (12) + b0 (3) = params 0..14, layer 1 (the head)
 * W1 (6) + b1 (2) = 15..22.  With the head personal, 15 are shared.
 */
START_TEST(split_by_hand)
{
	const u32 dims[] = { 4, 3, 2 }, dims3[] = { 2, 3, 3, 2 };
	struct mcai_pers_split s;
	u32 mask, i;

	ck_assert_int_eq(mcai_pers_layers_parse("head", 2, &mask), 0);
	ck_assert_uint_eq(mask, 2);
	ck_assert_int_eq(mcai_pers_split_init(&s, dims, 3, mask), 0);
	ck_assert_uint_eq(s.n_params, 23);
	ck_assert_uint_eq(s.n_shared, 15);
	ck_assert_uint_eq(s.n_ranges, 1);
	ck_assert_uint_eq(s.personal[0].off, 15);
	ck_assert_uint_eq(s.personal[0].len, 8);
	for (i = 0; i < 23; i++)
		ck_assert(mcai_pers_is_personal(&s, i) == (i >= 15));
	/* the body personal instead: the head is what is shared */
	ck_assert_int_eq(mcai_pers_layers_parse("0", 2, &mask), 0);
	ck_assert_int_eq(mcai_pers_split_init(&s, dims, 3, mask), 0);
	ck_assert_uint_eq(s.n_shared, 8);
	/*
	 * 2-3-3-2: layers of 9, 12 and 8 params; first and last personal
	 * ("0,-1"): the middle one (9..20) is shared.
	 */
	ck_assert_int_eq(mcai_pers_layers_parse("0,-1", 3, &mask), 0);
	ck_assert_uint_eq(mask, 5);
	ck_assert_int_eq(mcai_pers_split_init(&s, dims3, 4, mask), 0);
	ck_assert_uint_eq(s.n_params, 29);
	ck_assert_uint_eq(s.n_shared, 12);
	ck_assert_uint_eq(s.n_ranges, 2);
	ck_assert_uint_eq(s.personal[1].off, 21);
	/* nothing shared, out of range, garbage: refused */
	ck_assert_int_eq(mcai_pers_layers_parse("0,1", 2, &mask), -EINVAL);
	ck_assert_int_eq(mcai_pers_layers_parse("2", 2, &mask), -EINVAL);
	ck_assert_int_eq(mcai_pers_layers_parse("-3", 2, &mask), -EINVAL);
	ck_assert_int_eq(mcai_pers_layers_parse("", 2, &mask), -EINVAL);
	ck_assert_int_eq(mcai_pers_layers_parse("1x", 2, &mask), -EINVAL);
	ck_assert_int_eq(mcai_pers_layers_parse("1,", 2, &mask), -EINVAL);
	ck_assert_int_eq(mcai_pers_split_init(&s, dims, 3, 3), -EINVAL);
	ck_assert_int_eq(mcai_pers_split_init(&s, dims, 3, 4), -EINVAL);
}
END_TEST

/*
 * A FedPer node's update as the wire carries it: every personal parameter
 * holds a sentinel no shared one has; the encoded UPDATE has room for the
 * shared count only, none of the sentinel's bytes, and decodes to the
 * shared values in order.  Unpacking puts them back and leaves the
 * receiver's own head alone.
 */
START_TEST(fedper_update_on_the_wire)
{
	const u32 dims[] = { 2, 3, 3, 2 };
	const float sentinel = 12345.678f;
	struct mcai_pers_split s;
	struct mcai_msg_update m = { 0 }, got;
	struct mcai_buf b;
	const char *why = NULL;
	float full[29], shared[29], back[29];
	u32 mask, i, j;

	ck_assert_int_eq(mcai_pers_layers_parse("0,head", 3, &mask), 0);
	ck_assert_int_eq(mcai_pers_split_init(&s, dims, 4, mask), 0);
	for (i = 0; i < 29; i++)
		full[i] = mcai_pers_is_personal(&s, i) ? sentinel :
			  0.01f * (float)i;
	mcai_pers_pack(&s, full, shared);
	m.round_id = 7;
	m.base_version = 3;
	m.n_samples = 100;
	m.delta_f = shared;
	m.n_delta = s.n_shared;
	mcai_buf_init(&b);
	ck_assert_int_eq(mcai_update_encode(&b, &m, &why), 0);
	/* round, version, samples, loss, count, 12 floats */
	ck_assert_uint_eq(b.len, 8 + 4 + 8 + 4 + 4 + 4 * 12);
	ck_assert_ptr_null(memmem(b.data, b.len, &sentinel, sizeof(sentinel)));
	ck_assert_int_eq(mcai_update_decode(b.data, b.len, &got, &why), 0);
	ck_assert_uint_eq(got.delta.n, 12);
	for (i = 0, j = 0; i < 29; i++) {
		if (mcai_pers_is_personal(&s, i))
			continue;
		ck_assert(mcai_f32v_get(&got.delta, j) == full[i]);
		j++;
	}
	ck_assert_uint_eq(j, 12);
	/* the receiver's personal layers stay its own */
	for (i = 0; i < 29; i++)
		back[i] = -1;
	mcai_pers_unpack(&s, shared, back);
	for (i = 0; i < 29; i++)
		ck_assert(back[i] == (mcai_pers_is_personal(&s, i) ? -1 : full[i]));
	mcai_pers_copy_personal(&s, full, back);
	ck_assert(!memcmp(back, full, sizeof(full)));
	/* in place, as a node packs its delta */
	mcai_pers_pack(&s, full, full);
	ck_assert(!memcmp(full, shared, 12 * sizeof(float)));
	mcai_buf_free(&b);
}
END_TEST

/*
 * One Ditto step on a 2-2 softmax layer, batch 1, lr 0.1, lambda 0.5,
 * no momentum or decay.  Personal v: W = 0, b = (0.3, 0.3): equal logits,
 * softmax (0.5, 0.5); x = (1, 2), label 0: dlogits = (-0.5, 0.5), so
 * grad W[i][o] = x[i] dlogits[o] = [[-0.5, 0.5], [-1, 1]], grad b =
 * (-0.5, 0.5).  Global w: W = [[1, 2], [3, 4]], b = (0.1, -0.1).
 *   v - lr (g + lambda (v - w)):
 *   W00 = 0 - 0.1 (-0.5 + 0.5 (0 - 1)) = 0.1
 *   W01 = 0 - 0.1 ( 0.5 + 0.5 (0 - 2)) = 0.05
 *   W10 = 0 - 0.1 (-1   + 0.5 (0 - 3)) = 0.25
 *   W11 = 0 - 0.1 ( 1   + 0.5 (0 - 4)) = 0.1
 *   b0  = 0.3 - 0.1 (-0.5 + 0.5 (0.3 - 0.1)) = 0.34
 *   b1  = 0.3 - 0.1 ( 0.5 + 0.5 (0.3 + 0.1)) = 0.23
 * With lambda 0 it is a plain local step: W00 = 0.05, b1 = 0.25.
 */
static void sample(void *ctx, u32 k, float *x, u32 *label)
{
	(void)ctx;
	(void)k;
	x[0] = 1;
	x[1] = 2;
	*label = 0;
}

START_TEST(ditto_step_by_hand)
{
	const u32 dims[] = { 2, 2 };
	const float v0[6] = { 0, 0, 0, 0, 0.3f, 0.3f };
	const float w[6] = { 1, 2, 3, 4, 0.1f, -0.1f };
	const float want[6] = { 0.1f, 0.05f, 0.25f, 0.1f, 0.34f, 0.23f };
	const struct mcai_mlp_opt base = { 0 };
	const struct mcai_mlp_data d = { sample, NULL };
	struct mcai_mlp *n = mcai_mlp_create(dims, 2, MCAI_MLP_SOFTMAX);
	struct mcai_mlp_opt o;
	struct mcai_mlp_sched sc = { .lr = 0.1f };
	float got[6];
	u32 idx = 0, i;

	ck_assert_ptr_nonnull(n);
	o = mcai_pers_ditto_opt(&base, 0.5f, w);
	ck_assert(o.prox_mu == 0.5f && o.prox_ref == w);
	mcai_mlp_set_params(n, v0);
	mcai_mlp_train_batch(n, &o, &sc, &d, &idx, 1, NULL);
	mcai_mlp_get_params(n, got);
	for (i = 0; i < 6; i++)
		ck_assert_msg(fabsf(got[i] - want[i]) < 1e-6f,
			      "param %u: %g, want %g", i, got[i], want[i]);
	/* lambda 0: the node's own data only */
	o = mcai_pers_ditto_opt(&base, 0, w);
	ck_assert_ptr_null(o.prox_ref);
	mcai_mlp_set_params(n, v0);
	mcai_mlp_reset_opt(n);
	sc.step = 0;
	mcai_mlp_train_batch(n, &o, &sc, &d, &idx, 1, NULL);
	mcai_mlp_get_params(n, got);
	ck_assert(fabsf(got[0] - 0.05f) < 1e-6f);
	ck_assert(fabsf(got[5] - 0.25f) < 1e-6f);
	mcai_mlp_free(n);
}
END_TEST

/*
 * Per-class accuracy (0.9, 0.5, 1.0; 10 test images each) weighted by a
 * node's labels (3, 1, 0): (3 * 0.9 + 1 * 0.5) / 4 = 0.8; a class the
 * test set lacks is left out with its weight.
 */
START_TEST(weighted_accuracy)
{
	const u32 correct[] = { 9, 5, 10, 0 }, total[] = { 10, 10, 10, 0 };
	const u32 node[] = { 3, 1, 0, 5 }, none[] = { 0, 0, 0, 0 };
	enum mcai_pers_kind k;

	ck_assert(fabs(mcai_pers_weighted_acc(correct, total, node, 4) - 0.8) <
		  1e-12);
	ck_assert(mcai_pers_weighted_acc(correct, total, none, 4) == 0);
	ck_assert_int_eq(mcai_pers_kind_parse("ditto", &k), 0);
	ck_assert_int_eq(k, MCAI_PERS_DITTO);
	ck_assert_int_eq(mcai_pers_kind_parse("fedper", &k), 0);
	ck_assert_int_eq(k, MCAI_PERS_FEDPER);
	ck_assert_str_eq(mcai_pers_kind_name(MCAI_PERS_NONE), "none");
	ck_assert_int_eq(mcai_pers_kind_parse("fedbn", &k), -EINVAL);
}
END_TEST

/* Flip byte @at of @path (a torn or altered state file). */
static void flip_byte(const char *path, long at)
{
	FILE *f = fopen(path, "r+b");
	int ch;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, at, SEEK_SET), 0);
	ch = fgetc(f);
	ck_assert_int_ne(ch, EOF);
	ck_assert_int_eq(fseek(f, at, SEEK_SET), 0);
	fputc(ch ^ 0x40, f);
	fclose(f);
}

/*
 * The node's state file: what is saved comes back bit for bit (header and
 * floats, -0.0 and a denormal included); a missing file is -ENOENT; a
 * flipped byte anywhere, a truncated file or a foreign one is -EBADMSG,
 * never half used; a save replaces the file whole.
 */
START_TEST(state_file)
{
	char dir[] = "/tmp/mcai-pers.XXXXXX", path[64], err[512];
	const float v[5] = { 1.5f, -0.0f, 1e-40f, -3.25f, 1e30f };
	struct mcai_pers_state st = {
		.kind = MCAI_PERS_FEDPER, .mask = 2, .n_params = 5,
		.version = 7, .round = (1ULL << 33) + 5,
	}, got;
	float *p = NULL, w[5];
	long at;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.state", dir);
	ck_assert_int_eq(mcai_pers_state_load(path, &got, &p, err, sizeof(err)),
			 -ENOENT);
	ck_assert_int_eq(mcai_pers_state_save(path, &st, v, err, sizeof(err)),
			 0);
	ck_assert_int_eq(mcai_pers_state_load(path, &got, &p, err, sizeof(err)),
			 0);
	ck_assert_int_eq(got.kind, MCAI_PERS_FEDPER);
	ck_assert_uint_eq(got.mask, 2);
	ck_assert_uint_eq(got.n_params, 5);
	ck_assert_uint_eq(got.version, 7);
	ck_assert_uint_eq(got.round, (1ULL << 33) + 5);
	ck_assert_mem_eq(p, v, sizeof(v));
	free(p);
	/* 32 header + 20 floats + 32 digest */
	for (at = 0; at < 84; at += 7) {
		ck_assert_int_eq(mcai_pers_state_save(path, &st, v, err,
						      sizeof(err)), 0);
		flip_byte(path, at);
		ck_assert_msg(mcai_pers_state_load(path, &got, &p, err,
						   sizeof(err)) == -EBADMSG,
			      "byte %ld flipped: accepted", at);
		ck_assert_ptr_null(p);
	}
	ck_assert_int_eq(truncate(path, 60), 0);
	ck_assert_int_eq(mcai_pers_state_load(path, &got, &p, err, sizeof(err)),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "not a personal state file"));
	/* Ditto's whole model over it, in one piece */
	st.kind = MCAI_PERS_DITTO;
	st.mask = 0;
	memcpy(w, v, sizeof(w));
	w[0] = 42;
	ck_assert_int_eq(mcai_pers_state_save(path, &st, w, err, sizeof(err)),
			 0);
	ck_assert_int_eq(mcai_pers_state_load(path, &got, &p, err, sizeof(err)),
			 0);
	ck_assert_int_eq(got.kind, MCAI_PERS_DITTO);
	ck_assert(p[0] == 42);
	free(p);
	/* bad headers are not written */
	st.n_params = 0;
	ck_assert_int_eq(mcai_pers_state_save(path, &st, w, err, sizeof(err)),
			 -EINVAL);
	st.n_params = 5;
	st.kind = MCAI_PERS_NONE;
	ck_assert_int_eq(mcai_pers_state_save(path, &st, w, err, sizeof(err)),
			 -EINVAL);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "MCAIHST1garbagegarbagegarbagegarbagegarbagegarbagegarbage", 57), 57);
	close(fd);
	ck_assert_int_eq(mcai_pers_state_load(path, &got, &p, err, sizeof(err)),
			 -EBADMSG);
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *personal_suite(void)
{
	Suite *s = suite_create("personal");
	TCase *tc = tcase_create("personal");

	tcase_add_test(tc, split_by_hand);
	tcase_add_test(tc, fedper_update_on_the_wire);
	tcase_add_test(tc, ditto_step_by_hand);
	tcase_add_test(tc, weighted_accuracy);
	tcase_add_test(tc, state_file);
	suite_add_tcase(s, tc);
	return s;
}
