// SPDX-License-Identifier: GPL-2.0
/*
 * A tiny streaming JSON writer (RFC 8259).  See json.h.
 */
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <stdlib.h>

#include "runtime/lib/json.h"

void mcai_json_init(struct mcai_json *j, FILE *f, int pretty_depth)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty_depth = pretty_depth;
}

static bool mcai_json_pretty(const struct mcai_json *j)
{
	return j->depth > 0 && j->depth <= j->pretty_depth &&
	       (!j->compact_from || j->depth < j->compact_from);
}

static void mcai_json_newline(struct mcai_json *j, int level)
{
	fputc('\n', j->f);
	for (int i = 0; i < level; i++)
		fputs("  ", j->f);
}

/* Whatever must precede a value: a comma, a line break, or nothing. */
static void mcai_json_before_value(struct mcai_json *j)
{
	if (j->depth == 0) {
		if (j->started)
			j->error = true;	/* a second top-level value */
	} else if (j->is_object[j->depth - 1]) {
		if (!j->after_key)
			j->error = true;	/* a value without a key */
		j->after_key = false;
	} else {
		if (j->has_members[j->depth - 1])
			fputc(',', j->f);
		if (mcai_json_pretty(j))
			mcai_json_newline(j, j->depth);
		j->has_members[j->depth - 1] = true;
	}
	j->started = true;
}

static void mcai_json_begin(struct mcai_json *j, bool object)
{
	mcai_json_before_value(j);
	if (j->depth >= MCAI_JSON_MAX_DEPTH) {
		j->error = true;
		return;
	}
	fputc(object ? '{' : '[', j->f);
	j->is_object[j->depth] = object;
	j->has_members[j->depth] = false;
	j->depth++;
}

static void mcai_json_end(struct mcai_json *j, bool object)
{
	if (j->depth == 0 || j->is_object[j->depth - 1] != object ||
	    j->after_key) {
		j->error = true;
		return;
	}
	if (j->has_members[j->depth - 1] && mcai_json_pretty(j))
		mcai_json_newline(j, j->depth - 1);
	if (j->compact_from == j->depth)
		j->compact_from = 0;
	j->depth--;
	fputc(object ? '}' : ']', j->f);
}

void mcai_json_object_begin(struct mcai_json *j)
{
	mcai_json_begin(j, true);
}

void mcai_json_object_end(struct mcai_json *j)
{
	mcai_json_end(j, true);
}

void mcai_json_array_begin(struct mcai_json *j)
{
	mcai_json_begin(j, false);
}

void mcai_json_array_begin_inline(struct mcai_json *j)
{
	mcai_json_begin(j, false);
	if (!j->compact_from)
		j->compact_from = j->depth;
}

void mcai_json_array_end(struct mcai_json *j)
{
	mcai_json_end(j, false);
}

/*
 * Length of the well-formed UTF-8 sequence at @s (at most @len bytes), or
 * 0 if it is not one: no overlong forms, no surrogates, nothing above
 * U+10FFFF (RFC 3629).
 */
static size_t mcai_utf8_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static void mcai_json_quote(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	fputc('"', f);
	while (i < len) {
		unsigned char c = s[i];

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(f, "\\u%04x", c);
				break;
			}
			n = mcai_utf8_len(s + i, len - i);
			if (!n) {
				fputs("\\ufffd", f);
				break;
			}
			fwrite(s + i, 1, n, f);
			i += n;
			continue;
		}
		i++;
	}
	fputc('"', f);
}

void mcai_json_key(struct mcai_json *j, const char *key)
{
	if (j->depth == 0 || !j->is_object[j->depth - 1] || j->after_key) {
		j->error = true;
		return;
	}
	if (j->has_members[j->depth - 1])
		fputc(',', j->f);
	if (mcai_json_pretty(j))
		mcai_json_newline(j, j->depth);
	mcai_json_quote(j->f, key, strlen(key));
	fputs(mcai_json_pretty(j) ? ": " : ":", j->f);
	j->has_members[j->depth - 1] = true;
	j->after_key = true;
}

void mcai_json_string_len(struct mcai_json *j, const char *s, size_t len)
{
	mcai_json_before_value(j);
	mcai_json_quote(j->f, s, len);
}

void mcai_json_string(struct mcai_json *j, const char *s)
{
	if (!s) {
		mcai_json_null(j);
		return;
	}
	mcai_json_string_len(j, s, strlen(s));
}

void mcai_json_int(struct mcai_json *j, long long v)
{
	mcai_json_before_value(j);
	fprintf(j->f, "%lld", v);
}

void mcai_json_uint(struct mcai_json *j, unsigned long long v)
{
	mcai_json_before_value(j);
	fprintf(j->f, "%llu", v);
}

void mcai_json_double(struct mcai_json *j, double v)
{
	if (!isfinite(v)) {
		mcai_json_null(j);
		return;
	}
	char buf[32];

	mcai_json_before_value(j);
	/* The shortest form that reads back as the same double. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, j->f);
}

void mcai_json_float(struct mcai_json *j, float v)
{
	char buf[32];

	if (!isfinite(v)) {
		mcai_json_null(j);
		return;
	}
	mcai_json_before_value(j);
	for (int prec = 1; prec <= 9; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	fputs(buf, j->f);
}

void mcai_json_bool(struct mcai_json *j, bool v)
{
	mcai_json_before_value(j);
	fputs(v ? "true" : "false", j->f);
}

void mcai_json_null(struct mcai_json *j)
{
	mcai_json_before_value(j);
	fputs("null", j->f);
}

void mcai_json_hex(struct mcai_json *j, const void *p, size_t len)
{
	const unsigned char *b = p;

	mcai_json_before_value(j);
	fputc('"', j->f);
	for (size_t i = 0; i < len; i++)
		fprintf(j->f, "%02x", b[i]);
	fputc('"', j->f);
}

void mcai_json_close_all(struct mcai_json *j)
{
	if (j->after_key)
		mcai_json_null(j);
	while (j->depth)
		mcai_json_end(j, j->is_object[j->depth - 1]);
}

int mcai_json_finish(struct mcai_json *j)
{
	if (j->finished)
		return j->error ? -1 : 0;
	j->finished = true;
	if (j->depth || j->after_key || !j->started)
		j->error = true;
	fputc('\n', j->f);
	if (fflush(j->f) || ferror(j->f))
		return -1;
	return j->error ? -1 : 0;
}

void mcai_json_kv_string(struct mcai_json *j, const char *key, const char *s)
{
	mcai_json_key(j, key);
	mcai_json_string(j, s);
}

void mcai_json_kv_int(struct mcai_json *j, const char *key, long long v)
{
	mcai_json_key(j, key);
	mcai_json_int(j, v);
}

void mcai_json_kv_uint(struct mcai_json *j, const char *key,
		       unsigned long long v)
{
	mcai_json_key(j, key);
	mcai_json_uint(j, v);
}

void mcai_json_kv_double(struct mcai_json *j, const char *key, double v)
{
	mcai_json_key(j, key);
	mcai_json_double(j, v);
}

void mcai_json_kv_float(struct mcai_json *j, const char *key, float v)
{
	mcai_json_key(j, key);
	mcai_json_float(j, v);
}

void mcai_json_kv_bool(struct mcai_json *j, const char *key, bool v)
{
	mcai_json_key(j, key);
	mcai_json_bool(j, v);
}

void mcai_json_kv_hex(struct mcai_json *j, const char *key, const void *p,
		      size_t len)
{
	mcai_json_key(j, key);
	mcai_json_hex(j, p, len);
}
