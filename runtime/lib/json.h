/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny streaming JSON writer: nesting, commas, string escaping (invalid
 * UTF-8 becomes U+FFFD, so the output is always valid JSON).  Containers
 * nested less than pretty_depth deep put each member on its own indented
 * line; deeper ones are written compactly on one line.
 */
#ifndef MCAI_JSON_H
#define MCAI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define MCAI_JSON_MAX_DEPTH	32

struct mcai_json {
	FILE *f;
	int depth;			/* open containers */
	int pretty_depth;
	int compact_from;		/* depth of an inline container, or 0 */
	bool started;			/* anything written yet */
	bool after_key;			/* a key was written, its value is due */
	bool finished;			/* mcai_json_finish() was called */
	bool error;			/* misuse (unbalanced, key outside object) */
	bool has_members[MCAI_JSON_MAX_DEPTH];
	bool is_object[MCAI_JSON_MAX_DEPTH];
};

void mcai_json_init(struct mcai_json *j, FILE *f, int pretty_depth);
/*
 * Ends the document with a newline (once; later calls only report);
 * 0, or -1 on misuse or a write error.
 */
int mcai_json_finish(struct mcai_json *j);

/* Close every open container (after an error half-way through). */
void mcai_json_close_all(struct mcai_json *j);

void mcai_json_object_begin(struct mcai_json *j);
void mcai_json_object_end(struct mcai_json *j);
void mcai_json_array_begin(struct mcai_json *j);
/* An array written on one line whatever its depth (e.g. of numbers). */
void mcai_json_array_begin_inline(struct mcai_json *j);
void mcai_json_array_end(struct mcai_json *j);
void mcai_json_key(struct mcai_json *j, const char *key);

void mcai_json_string(struct mcai_json *j, const char *s);
void mcai_json_string_len(struct mcai_json *j, const char *s, size_t len);
void mcai_json_int(struct mcai_json *j, long long v);
void mcai_json_uint(struct mcai_json *j, unsigned long long v);
void mcai_json_double(struct mcai_json *j, double v);	/* NaN/inf: null */
/* The shortest form that reads back as the same float. */
void mcai_json_float(struct mcai_json *j, float v);
void mcai_json_bool(struct mcai_json *j, bool v);
void mcai_json_null(struct mcai_json *j);
/* Bytes as a lowercase hex string. */
void mcai_json_hex(struct mcai_json *j, const void *p, size_t len);

/* key + value in one call. */
void mcai_json_kv_string(struct mcai_json *j, const char *key, const char *s);
void mcai_json_kv_int(struct mcai_json *j, const char *key, long long v);
void mcai_json_kv_uint(struct mcai_json *j, const char *key,
		       unsigned long long v);
void mcai_json_kv_double(struct mcai_json *j, const char *key, double v);
void mcai_json_kv_float(struct mcai_json *j, const char *key, float v);
void mcai_json_kv_bool(struct mcai_json *j, const char *key, bool v);
void mcai_json_kv_hex(struct mcai_json *j, const char *key, const void *p,
		      size_t len);

#endif /* MCAI_JSON_H */
