/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Power models for the `model` energy source: what one CPU draws at a
 * frequency.  From the kernel Energy Model where the platform registers
 * one (debugfs energy_model, micro-watts), else from a table the operator
 * supplies (bpf/power/NAME.power, format in those files).  Pure user space,
 * no libbpf: unit-tested on its own.
 */
#ifndef MCAI_BPF_POWER_H
#define MCAI_BPF_POWER_H

#include <stddef.h>
#include <stdint.h>

#define MCAI_POWER_MAX_ROWS	64
#define MCAI_POWER_NAME_LEN	32
#define MCAI_POWER_MAX_MW	1000000u	/* 1 kW per CPU: surely a typo */

struct mcai_power_row {
	uint32_t khz;
	uint32_t mw;
};

struct mcai_power_table {
	char name[MCAI_POWER_NAME_LEN];
	uint32_t n;
	uint32_t nominal;			/* row for an unknown frequency */
	struct mcai_power_row row[MCAI_POWER_MAX_ROWS];	/* khz ascending */
};

/*
 * Parse a table from @text.  0, or -1 with "line N: what" in @err.
 * Frequencies must be distinct; rows may come in any order.
 */
int mcai_power_parse(const char *text, struct mcai_power_table *t,
		     char *err, size_t errlen);
/* The same from a file. */
int mcai_power_load(const char *path, struct mcai_power_table *t,
		    char *err, size_t errlen);
/* A table shipped in the binary ("x86-gateway", "cortex-a53"), or NULL. */
const char *mcai_power_builtin(const char *name);
/* The built-in table for this machine's architecture. */
const char *mcai_power_builtin_default(void);

/*
 * Power at @khz: exact at a row, linear between rows (rounded to the
 * nearest mW), the end rows outside them; @khz 0 = the nominal row.
 */
uint32_t mcai_power_at(const struct mcai_power_table *t, uint32_t khz);

/*
 * The kernel Energy Model's table of the performance domain of @cpu,
 * under @em_root (normally /sys/kernel/debug/energy_model).  0, -1 when
 * there is none (errno ENOENT) or it is unusable (an abstract scale
 * rather than micro-watts), with the reason in @err.
 */
int mcai_power_from_em(const char *em_root, int cpu,
		       struct mcai_power_table *t, char *err, size_t errlen);

/* Current frequency of @cpu from cpufreq, 0 when unknown. */
uint32_t mcai_cpu_cur_khz(int cpu);

#define MCAI_POWER_EM_ROOT	"/sys/kernel/debug/energy_model"

/*
 * The power model an operator gets: @arg (a table file, or the name of a
 * built-in one) when given, else the kernel Energy Model of CPU 0, else
 * the built-in table of this architecture.  *@origin says which
 * (enum mcai_power_origin of bpf/telemetry.h), @what in words.  0, or
 * -1 with the reason in @err.
 */
int mcai_power_choose(const char *arg, struct mcai_power_table *t,
		      int *origin, char *what, size_t whatlen, char *err,
		      size_t errlen);

#endif /* MCAI_BPF_POWER_H */
