// SPDX-License-Identifier: GPL-2.0
/*
 * .npy and TensorProto readers and writers (models/import/tensorfile.h):
 * round trips, what NumPy itself writes, and hostile files.
 */
#include <stdlib.h>
#include <string.h>

#include "models/import/tensorfile.h"
#include "tests/unit/unit.h"

static struct mcai_tensor sample(void)
{
	static float v[6] = { 1.5f, -2, 0, 3.25f, 1e-3f, -7 };
	struct mcai_tensor t = { .type = MCAI_TF_FLOAT, .rank = 2,
				 .dims = { 2, 3 }, .count = 6 };

	t.data = v;
	strcpy(t.name, "x");
	return t;
}

START_TEST(npy_round_trip)
{
	struct mcai_tensor t = sample(), u;
	char err[128];
	size_t len;
	u8 *b = mcai_tensor_npy_bytes(&t, &len);

	ck_assert_uint_eq(len % 64, 24);	/* header padded to 64, then data */
	ck_assert_int_eq(mcai_tensor_parse_npy(&u, b, len, err, sizeof(err)), 0);
	ck_assert_int_eq(u.type, MCAI_TF_FLOAT);
	ck_assert_uint_eq(u.rank, 2);
	ck_assert_uint_eq(u.dims[1], 3);
	ck_assert(!memcmp(u.data, t.data, 24));
	mcai_tensor_free(&u);
	free(b);
}
END_TEST

START_TEST(npy_numpy_header)
{
	/* np.save of np.arange(3, dtype=np.int8) */
	static const char hdr[] = "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }";
	u8 buf[128];
	struct mcai_tensor u;
	char err[128];
	size_t hl = strlen(hdr);

	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (u8)hl;
	buf[9] = 0;
	memcpy(buf + 10, hdr, hl);
	memcpy(buf + 10 + hl, "\x00\x01\x02", 3);
	ck_assert_int_eq(mcai_tensor_parse_npy(&u, buf, 13 + hl, err, sizeof(err)), 0);
	ck_assert_int_eq(u.type, MCAI_TF_INT8);
	ck_assert_uint_eq(u.count, 3);
	mcai_tensor_free(&u);
	/* one byte short, one byte long */
	ck_assert_int_eq(mcai_tensor_parse_npy(&u, buf, 12 + hl, err, sizeof(err)), -1);
	ck_assert(strstr(err, "data bytes"));
	buf[13 + hl] = 0;
	ck_assert_int_eq(mcai_tensor_parse_npy(&u, buf, 14 + hl, err, sizeof(err)), -1);
}
END_TEST

static int npy_with(const char *hdr, size_t data)
{
	u8 *buf = calloc(1, 10 + strlen(hdr) + data + 1);
	struct mcai_tensor u;
	char err[128];
	int r;

	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (u8)strlen(hdr);
	memcpy(buf + 10, hdr, strlen(hdr));
	r = mcai_tensor_parse_npy(&u, buf, 10 + strlen(hdr) + data, err,
				  sizeof(err));
	if (!r)
		mcai_tensor_free(&u);
	free(buf);
	return r;
}

START_TEST(npy_hostile)
{
	u8 b[16] = "\x93NUMPY\x01\x00\xff\xff";
	struct mcai_tensor u;
	char err[128];

	ck_assert_int_eq(mcai_tensor_parse_npy(&u, b, 5, err, sizeof(err)), -1);
	ck_assert_int_eq(mcai_tensor_parse_npy(&u, b, 16, err, sizeof(err)), -1);
	ck_assert(strstr(err, "truncated"));
	ck_assert_int_eq(npy_with("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4), -1);
	ck_assert_int_eq(npy_with("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4), -1);
	ck_assert_int_eq(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4), -1);
	ck_assert_int_eq(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536), }", 4), -1);
	ck_assert_int_eq(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4), -1);
	ck_assert_int_eq(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4), -1);
	ck_assert_int_eq(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': 1, }", 4), -1);
	ck_assert_int_eq(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4), 0);
}
END_TEST

START_TEST(pb_round_trip_and_hostile)
{
	struct mcai_tensor t = sample(), u;
	char err[128];
	size_t len, k;
	u8 *b = mcai_tensor_pb_bytes(&t, &len);

	ck_assert_int_eq(mcai_tensor_parse_pb(&u, b, len, err, sizeof(err)), 0);
	ck_assert_str_eq(u.name, "x");
	ck_assert(!memcmp(u.data, t.data, 24));
	mcai_tensor_free(&u);
	for (k = 0; k < len; k++)
		if (!mcai_tensor_parse_pb(&u, b, k, err, sizeof(err)))
			mcai_tensor_free(&u);
	/* raw data one element short */
	t.dims[1] = 4;
	t.count = 8;
	free(b);
	t.count = 6;
	b = mcai_tensor_pb_bytes(&t, &len);
	ck_assert_int_eq(mcai_tensor_parse_pb(&u, b, len, err, sizeof(err)), -1);
	ck_assert(strstr(err, "holds"));
	free(b);
}
END_TEST

START_TEST(to_float_types)
{
	s64 i64[2] = { -3, 5 };
	u8 u[2] = { 0, 255 };
	float f[2];
	struct mcai_tensor t = { .type = MCAI_TF_INT64, .count = 2, .data = i64 };

	mcai_tensor_to_float(&t, f);
	ck_assert(f[0] == -3 && f[1] == 5);
	t.type = MCAI_TF_UINT8;
	t.data = u;
	mcai_tensor_to_float(&t, f);
	ck_assert(f[0] == 0 && f[1] == 255);
	ck_assert(mcai_tensor_is_npy("a.npy", NULL, 0));
	ck_assert(!mcai_tensor_is_npy("a.pb", (const u8 *)"\x93NUMPY", 6));
}
END_TEST

Suite *tensorfile_suite(void)
{
	Suite *s = suite_create("tensorfile");
	TCase *tc = tcase_create("tensorfile");

	tcase_add_test(tc, npy_round_trip);
	tcase_add_test(tc, npy_numpy_header);
	tcase_add_test(tc, npy_hostile);
	tcase_add_test(tc, pb_round_trip_and_hostile);
	tcase_add_test(tc, to_float_types);
	suite_add_tcase(s, tc);
	return s;
}
