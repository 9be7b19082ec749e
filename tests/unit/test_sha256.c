// SPDX-License-Identifier: GPL-2.0
/*
 * SHA-256 (models/engine/sha256.c): the FIPS 180-2 / NIST example messages, the
 * padding boundaries (55, 56, 63, 64 ... bytes; references from Python's
 * hashlib), and incremental updates at odd chunk sizes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "models/engine/sha256.h"

static void hex(const u8 *d, char *out)
{
	int i;

	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_digest(const void *msg, size_t len, const char *want)
{
	u8 d[32];
	char got[65];

	mcai_sha256(msg, len, d);
	hex(d, got);
	ck_assert_msg(!strcmp(got, want), "sha256 of %zu bytes: %s, want %s",
		      len, got, want);
}

START_TEST(fips_abc)
{
	check_digest("abc", 3,
		     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(fips_empty)
{
	check_digest("", 0,
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(fips_448_bits)
{
	static const char m[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	ck_assert_uint_eq(strlen(m) * 8, 448);
	check_digest(m, strlen(m),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(fips_896_bits)
{
	static const char m[] =
		"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
		"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

	ck_assert_uint_eq(strlen(m) * 8, 896);
	check_digest(m, strlen(m),
		     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(fips_million_a)
{
	const char *want =
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	char *m = malloc(1000000), got[65];
	struct mcai_sha256 c;
	u8 d[32];
	int i;

	memset(m, 'a', 1000000);
	check_digest(m, 1000000, want);
	/* The same in 1000-byte updates, as a stream would feed it. */
	mcai_sha256_init(&c);
	for (i = 0; i < 1000; i++)
		mcai_sha256_update(&c, m + 1000 * i, 1000);
	mcai_sha256_final(&c, d);
	hex(d, got);
	ck_assert_str_eq(got, want);
	free(m);
}
END_TEST

START_TEST(padding_boundaries)
{
	static const struct {
		size_t n;
		const char *hex;
	} v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
		{ 127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a" },
		{ 128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e" },
		{ 129, "c12cb024a2e5551cca0e08fce8f1c5e314555cc3fef6329ee994a3db752166ae" },
		{ 1000, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3" },
	};
	unsigned int k;

	for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		char *m = malloc(v[k].n);	/* exact size: ASan sees overreads */

		memset(m, 'a', v[k].n);
		check_digest(m, v[k].n, v[k].hex);
		free(m);
	}
}
END_TEST

/* 100000 bytes of a pattern, fed in chunks of every awkward size. */
START_TEST(incremental_odd_chunks)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 13, 31, 55, 56, 63, 64,
					 65, 127, 129, 1000, 4099 };
	const char *want =
		"d96bab6a55ee326ba206dd4a85a6e95e14360d7fabbf448f03e689c24382b7d0";
	const size_t n = 100000;
	u8 *m = malloc(n), d[32];
	char got[65];
	unsigned int k;
	size_t i;

	for (i = 0; i < n; i++)
		m[i] = (u8)(i * 7 + 3);
	check_digest(m, n, want);
	for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		struct mcai_sha256 c;

		mcai_sha256_init(&c);
		for (i = 0; i < n; i += chunks[k])
			mcai_sha256_update(&c, m + i,
					   n - i < chunks[k] ? n - i : chunks[k]);
		mcai_sha256_final(&c, d);
		hex(d, got);
		ck_assert_msg(!strcmp(got, want), "chunk %zu: %s", chunks[k], got);
	}
	/* Irregular chunks, with empty updates mixed in. */
	{
		struct mcai_sha256 c;
		uint64_t seed = 7;

		mcai_sha256_init(&c);
		for (i = 0; i < n;) {
			size_t len = unit_rnd32(&seed) % 200;

			if (len > n - i)
				len = n - i;
			mcai_sha256_update(&c, m + i, len);
			mcai_sha256_update(&c, m + i, 0);
			i += len;
		}
		mcai_sha256_final(&c, d);
		hex(d, got);
		ck_assert_str_eq(got, want);
	}
	free(m);
}
END_TEST

Suite *sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("vectors");

	tcase_add_test(tc, fips_abc);
	tcase_add_test(tc, fips_empty);
	tcase_add_test(tc, fips_448_bits);
	tcase_add_test(tc, fips_896_bits);
	tcase_add_test(tc, fips_million_a);
	tcase_add_test(tc, padding_boundaries);
	tcase_add_test(tc, incremental_odd_chunks);
	suite_add_tcase(s, tc);
	return s;
}
