// SPDX-License-Identifier: GPL-2.0
/*
 * Telemetry arithmetic in user space (bpf/power.c, bpf/calibrate.c,
 * bpf/telemetry.c): power tables and their interpolation, the shipped
 * tables, RAPL calibration (counter wraps, idle floor, refusals),
 * /proc/stat parsing and histogram quantiles.  Expected figures are
 * worked out by hand in the comments.
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "bpf/calibrate.h"
#include "bpf/power.h"
#include "bpf/telemetry.h"

START_TEST(power_parse_and_interpolate)
{
	struct mcai_power_table t;
	char err[128];

	ck_assert_int_eq(mcai_power_parse("# c\nname board\n"
		"2000000 3000\n1000000 1000 nominal # base\n\n", &t, err,
		sizeof(err)), 0);
	ck_assert_str_eq(t.name, "board");
	ck_assert_uint_eq(t.n, 2);
	/* sorted by frequency */
	ck_assert_uint_eq(t.row[0].khz, 1000000);
	ck_assert_uint_eq(mcai_power_at(&t, 0), 1000);		/* nominal */
	ck_assert_uint_eq(mcai_power_at(&t, 1000000), 1000);	/* exact */
	ck_assert_uint_eq(mcai_power_at(&t, 500000), 1000);	/* below */
	ck_assert_uint_eq(mcai_power_at(&t, 9000000), 3000);	/* above */
	/* 1000 + 2000 * 0.25 = 1500 */
	ck_assert_uint_eq(mcai_power_at(&t, 1250000), 1500);
	/* 1000 + 2000 * 1/3 = 1666.67 -> 1667 */
	ck_assert_uint_eq(mcai_power_at(&t, 1333333), 1667);
}
END_TEST

START_TEST(power_parse_errors)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "", "no frequency rows" },
		{ "1000 x\n", "line 1: expected" },
		{ "1000 10\n1000 20\n", "line 2: frequency 1000 kHz listed twice" },
		{ "0 10\n", "line 1: frequency must be > 0" },
		{ "10 0\n", "line 1: frequency must be > 0" },
		{ "10 2000000\n", "line 1: frequency must be > 0" },
		{ "10 1 nominal\n20 2 nominal\n", "line 2: a second nominal row" },
		{ "10 1 extra\n", "line 1: unexpected \"extra" },
	};
	struct mcai_power_table t;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(mcai_power_parse(bad[i].text, &t, err,
						  sizeof(err)), -1);
		ck_assert_msg(strstr(err, bad[i].want), "case %zu: \"%s\"",
			      i, err);
	}
}
END_TEST

START_TEST(power_shipped_tables)
{
	struct mcai_power_table t;
	char err[128];

	/* x86-gateway: 2.1 W per core at the 2.0 GHz base (nominal) */
	ck_assert_int_eq(mcai_power_parse(mcai_power_builtin("x86-gateway"),
					  &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.n, 6);
	ck_assert_uint_eq(mcai_power_at(&t, 0), 2100);
	/* cortex-a53: 100 * 1000^2 mV^2 * 1200 MHz / 10^9 = 120 mW */
	ck_assert_int_eq(mcai_power_parse(mcai_power_builtin("cortex-a53"),
					  &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(mcai_power_at(&t, 0), 120);
	ck_assert_uint_eq(mcai_power_at(&t, 408000), 28);
	ck_assert_ptr_null(mcai_power_builtin("nope"));
	ck_assert_ptr_nonnull(mcai_power_builtin_default());
}
END_TEST

static struct mcai_rapl_sample sample(uint64_t t, uint64_t busy, uint64_t e,
				      uint64_t range)
{
	struct mcai_rapl_sample s;

	memset(&s, 0, sizeof(s));
	s.t_ns = t;
	s.busy_ns = busy;
	s.n_pkg = 1;
	s.energy_uj[0] = e;
	s.range_uj[0] = range;
	return s;
}

START_TEST(calibrate_basic_and_wrap)
{
	struct mcai_rapl_sample a, b;
	struct mcai_calibration c;
	char err[128];

	/* 10 J over 4 busy CPU-seconds: 2.5 W per busy CPU */
	a = sample(0, 1000000000, 5000000, 262143328850ULL);
	b = sample(2000000000, 5000000000, 15000000, 262143328850ULL);
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 0, &c, err,
					     sizeof(err)), 0);
	ck_assert_uint_eq(c.energy_uj, 10000000);
	ck_assert_uint_eq(c.busy_ns, 4000000000ULL);
	ck_assert_uint_eq(c.power_mw, 2500);
	/* idle floor 1 W over the 2 s window: (10 - 2) J / 4 s = 2 W */
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 1000, &c, err,
					     sizeof(err)), 0);
	ck_assert_uint_eq(c.power_mw, 2000);
	/* wrap: range - a + b = 3328850 + 4671150 = 8 J over 2 s -> 4 W */
	a = sample(0, 0, 262140000000ULL, 262143328850ULL);
	b = sample(1000000000, 2000000000, 4671150, 262143328850ULL);
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 0, &c, err,
					     sizeof(err)), 0);
	ck_assert_uint_eq(c.energy_uj, 8000000);
	ck_assert_uint_eq(c.power_mw, 4000);
	/* two packages add up: 8 J + 2 J over 2 s busy -> 5 W */
	b.n_pkg = a.n_pkg = 2;
	a.energy_uj[1] = 100;
	b.energy_uj[1] = 2000100;
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 0, &c, err,
					     sizeof(err)), 0);
	ck_assert_uint_eq(c.power_mw, 5000);
}
END_TEST

START_TEST(calibrate_refusals)
{
	struct mcai_rapl_sample a, b;
	struct mcai_calibration c;
	char err[128];

	a = sample(10, 10, 100, 1000);
	b = sample(10, 20, 200, 1000);
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 0, &c, err,
					     sizeof(err)), -1);
	ck_assert_str_eq(err, "empty window");
	b = sample(20, 10, 200, 1000);
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 0, &c, err,
					     sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no CPU time"), "%s", err);
	b = sample(20, 20, 50, 0);		/* went back, no range */
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 0, &c, err,
					     sizeof(err)), -1);
	ck_assert_msg(strstr(err, "without a known range"), "%s", err);
	b = sample(20, 20, 200, 1000);
	b.n_pkg = 2;
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 0, &c, err,
					     sizeof(err)), -1);
	ck_assert_msg(strstr(err, "packages"), "%s", err);
	/* idle floor above the energy: refused, not negative */
	b = sample(1000000000, 2000000000, 1100, 100000);
	ck_assert_int_eq(mcai_rapl_calibrate(&a, &b, 5000, &c, err,
					     sizeof(err)), -1);
	ck_assert_msg(strstr(err, "idle floor"), "%s", err);
}
END_TEST

START_TEST(proc_stat_busy)
{
	uint64_t busy;

	/* user 100 nice 10 system 50 idle 1000 iowait 5 irq 3 softirq 2
	 * steal 1: busy 166 ticks at 100 Hz = 1.66 s */
	ck_assert_int_eq(mcai_proc_stat_busy_ns(
		"cpu  100 10 50 1000 5 3 2 1 0 0\ncpu0 1 2 3 4\n", 100,
		&busy), 0);
	ck_assert_uint_eq(busy, 1660000000ULL);
	ck_assert_int_eq(mcai_proc_stat_busy_ns("intr 1 2 3", 100, &busy), -1);
	ck_assert_int_eq(mcai_proc_stat_busy_ns("cpu 1 2", 100, &busy), -1);
}
END_TEST

START_TEST(hist_quantiles)
{
	uint64_t h[MCAI_TEL_HIST_SLOTS] = { 0 };

	ck_assert_uint_eq(mcai_tel_hist_quantile(h, 0.5), 0);
	/* 100 samples in [1024, 2048): p50 half way, 1536 */
	h[10] = 100;
	ck_assert_uint_eq(mcai_tel_hist_quantile(h, 0.5), 1536);
	/* 99 in [1024, 2048), 1 in [2^20, 2^21): p99 = top of bucket 10,
	 * p100 in the slow bucket */
	h[10] = 99;
	h[20] = 1;
	ck_assert_uint_eq(mcai_tel_hist_quantile(h, 0.99), 2048);
	ck_assert_uint_eq(mcai_tel_hist_quantile(h, 1.0), 2097152);
	ck_assert_str_eq(mcai_energy_source_name(
		MCAI_ENERGY_SOURCE_RAPL_CALIBRATED), "rapl-calibrated");
}
END_TEST

Suite *telemetry_suite(void)
{
	Suite *s = suite_create("telemetry");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, power_parse_and_interpolate);
	tcase_add_test(tc, power_parse_errors);
	tcase_add_test(tc, power_shipped_tables);
	tcase_add_test(tc, calibrate_basic_and_wrap);
	tcase_add_test(tc, calibrate_refusals);
	tcase_add_test(tc, proc_stat_busy);
	tcase_add_test(tc, hist_quantiles);
	suite_add_tcase(s, tc);
	return s;
}
