// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile v2 graphs against the module: every 32-bit word of a valid
 * graph's header, tensor, op and io tables and op parameters is set in
 * turn to 0, ~0, word + 1 and word ^ 0x10000, the digest resealed, and
 * the blob loaded.  The module must decide each exactly as the user-space
 * verifier does: the same errno, the same reason (naming the op, tensor
 * or io entry), the same offset; or load it when user space accepts it
 * and its test vectors pass.  Afterwards the original still loads.
 * Exit 0 pass, 1 fail.
 *
 * usage: graph_hostile BLOB...   (small v2 graphs: the fuzz seeds)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "models/engine/graph.h"
#include "models/engine/sha256.h"
#include "models/train/writer.h"
#include "report.h"

/* What the module should answer: 0, or -EINVAL with this reason. */
static int expect(const u8 *blob, u32 size, char *reason, size_t len,
		  u32 *offset)
{
	struct mcai_limits lim;
	struct mcai_verdict v;
	struct mcai_model m;
	void *state = NULL, *arena = NULL, *scores = NULL;
	const char *where;
	u32 need, t, at;
	int ret = 0;

	mcai_limits_default(&lim);
	if (mcai_model_state_size(blob, size, &lim, &need, &v))
		goto refused;
	state = aligned_alloc(8, (need + 8) & ~7U);
	if (!state) {
		snprintf(reason, len, "(no memory)");
		ret = -ENOMEM;
		goto out;
	}
	if (!mcai_model_verify(&m, blob, size, &lim, state, need, &v))
		goto verified;
refused:
	/* as kmod/registry.c words it: v2 refusals name what is at fault */
	where = mcai_graph_where(blob, size, v.offset, &at);
	if (mcai_blob_format(blob, size) != MCAI_BLOB2_VERSION)
		snprintf(reason, len, "%s", v.reason);
	else if (at != U32_MAX)
		snprintf(reason, len, "%s (%s %u)", v.reason, where, at);
	else
		snprintf(reason, len, "%s (%s)", v.reason, where);
	*offset = v.offset;
	ret = -EINVAL;
	goto out;
verified:
	arena = aligned_alloc(8, m.arena_size + 8);
	scores = malloc(m.output_len + 1);
	if (!arena || !scores) {
		snprintf(reason, len, "(no memory)");
		ret = -ENOMEM;
		goto out;
	}
	for (t = 0; t < m.tv_count; t++)
		if (mcai_model_check_vector(&m, t, arena, scores)) {
			snprintf(reason, len, "test vector %u failed", t);
			*offset = mcai_model_vector_offset(&m, t);
			ret = -EINVAL;
			break;
		}
out:
	free(state);
	free(arena);
	free(scores);
	return ret;
}

/* Load @blob; unload it again if it loaded.  Returns 0 or -errno. */
static int load(int fd, const u8 *blob, u32 size,
		struct mcai_model_load *ld)
{
	struct mcai_model_unload un = { .size = sizeof(un) };

	memset(ld, 0, sizeof(*ld));
	ld->size = sizeof(*ld);
	ld->blob_ptr = (uintptr_t)blob;
	ld->blob_size = size;
	if (ioctl(fd, MCAI_IOC_MODEL_LOAD, ld))
		return -errno;
	un.ref.model_id = ld->model_id;
	if (ioctl(fd, MCAI_IOC_MODEL_UNLOAD, &un))
		fail("unload of %u: %s", ld->model_id, strerror(errno));
	return 0;
}

static void one(int fd, const char *path, const u8 *blob, u32 size, u32 off,
		u8 *bad, u32 *tried, u32 *accepted)
{
	const u32 w = mcai_le32(blob + off);
	const u32 vals[] = { 0, ~0U, w + 1, w ^ 0x10000 };
	struct mcai_model_load ld;
	char want[MCAI_REASON_LEN + 64];
	u32 k, want_off = 0;
	int want_ret, got;

	for (k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		if (vals[k] == w)
			continue;
		memcpy(bad, blob, size);
		mcai_put_le32(bad + off, vals[k]);
		mcai_sha256(bad, size - MCAI_DIGEST_LEN,
			    bad + size - MCAI_DIGEST_LEN);
		want_ret = expect(bad, size, want, sizeof(want), &want_off);
		got = load(fd, bad, size, &ld);
		(*tried)++;
		*accepted += !got;
		if (got != want_ret ||
		    (got && (strncmp(ld.reason, want, MCAI_REASON_LEN - 1) ||
			     ld.err_offset != want_off)))
			fail("%s: word at %u = %#x: module %d \"%s\" at %u, user space %d \"%s\" at %u",
			     path, off, vals[k], got, got ? ld.reason : "",
			     ld.err_offset, want_ret, want_ret ? want : "",
			     want_off);
	}
}

int main(int argc, char **argv)
{
	struct mcai_model_load ld;
	char err[256];
	int a, fd;

	prog = "graph_hostile";
	if (argc < 2) {
		fprintf(stderr, "usage: %s BLOB...\n", argv[0]);
		return 1;
	}
	fd = open("/dev/mcai", O_RDWR);
	if (fd < 0) {
		perror("/dev/mcai");
		return 1;
	}
	for (a = 1; a < argc; a++) {
		u32 size, end, off, tried = 0, accepted = 0;
		u8 *blob = mcai_blob_read(argv[a], MCAI_DEFAULT_MAX_BLOB, &size,
					  err, sizeof(err));
		u8 *bad = blob ? malloc(size) : NULL;

		if (!bad || mcai_blob_format(blob, size) != MCAI_BLOB2_VERSION) {
			fail("%s: %s", argv[a], blob ? "not a v2 graph" : err);
			free(blob);
			continue;
		}
		/* everything before the constant data: tables and params */
		end = mcai_le32(blob + offsetof(struct mcai_blob2_header,
						 data_off));
		if (end > size - MCAI_DIGEST_LEN)
			end = size - MCAI_DIGEST_LEN;
		for (off = 0; off + 4 <= end; off += 4)
			one(fd, argv[a], blob, size, off, bad, &tried,
			    &accepted);
		if (load(fd, blob, size, &ld))
			fail("%s: the original no longer loads: %s", argv[a],
			     ld.reason);
		printf("%s: %s: %u hostile variants, %u loaded, every verdict as user space's\n",
		       prog, argv[a], tried, accepted);
		free(bad);
		free(blob);
	}
	close(fd);
	return failures ? 1 : 0;
}
