// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the federation protocol (runtime/fed/proto.c).
 *
 * Input byte 0 picks a mode: 0 mod 9 feeds the rest as a byte stream of
 * frames (header parse, then the decoder of each frame's type, as the
 * daemon's receive path does); 1..8 feed the rest to that message's
 * decoder as one payload.  Beyond "no crash, no over-read, no leak", every
 * payload that decodes must re-encode to exactly the same bytes: the codec
 * has one encoding per message, so any difference is a decoder accepting
 * something the encoder would refuse (or the reverse).
 *
 * Built with -DMCAI_FRAME_SEEDS instead, it is a plain program writing the
 * seed corpus (`make fuzz-frame-corpus`).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fed/proto.h"

static void mcai_fuzz_check(uint16_t type, const uint8_t *p, size_t len)
{
	struct mcai_buf b;
	struct mcai_msg m;
	const char *why = NULL;

	if (mcai_msg_decode(type, p, len, &m, &why)) {
		if (!why || !*why)
			abort();	/* every refusal has a reason */
		return;
	}
	mcai_buf_init(&b);
	if (mcai_msg_encode(&b, &m, &why)) {
		fprintf(stderr, "decoded %s does not re-encode: %s\n",
			mcai_msg_type_name(type), why);
		abort();
	}
	if (b.len != len || (len && memcmp(b.data, p, len))) {
		fprintf(stderr, "%s re-encodes to other bytes\n",
			mcai_msg_type_name(type));
		abort();
	}
	mcai_buf_free(&b);
	mcai_msg_release(&m);
}

static void mcai_fuzz_stream(const uint8_t *p, size_t len)
{
	struct mcai_frame_hdr h;
	const char *why;
	int frames = 0;

	while (len && frames++ < 64) {
		int err = mcai_frame_hdr_parse(p, len, &h, &why);

		if (err)
			return;		/* -EAGAIN: wait for more; else close */
		if (h.length > len - MCAI_FRAME_HDR_LEN)
			return;		/* a partial payload: wait for more */
		mcai_fuzz_check(h.type, p + MCAI_FRAME_HDR_LEN, h.length);
		p += MCAI_FRAME_HDR_LEN + h.length;
		len -= MCAI_FRAME_HDR_LEN + h.length;
	}
}

#ifndef MCAI_FRAME_SEEDS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;

	if (!size)
		return 0;
	mode = data[0] % 9;
	if (!mode)
		mcai_fuzz_stream(data + 1, size - 1);
	else
		mcai_fuzz_check(mode, data + 1, size - 1);
	return 0;
}

#else /* MCAI_FRAME_SEEDS */

static void mcai_seed_write(const char *dir, const char *name,
			    uint8_t mode, const struct mcai_buf *b)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 ||
	    fwrite(b->data, 1, b->len, f) != b->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const float params[] = { 0.5f, -1.25f, 3e-7f, -0.0f };
	static const uint8_t blob[] = { 'M', 'C', 'A', 'I', 1, 0, 128 };
	/* Opaque to the codec; a few bytes reach the manifest's length. */
	static const uint8_t manifest[] = { 'M', 'C', 'P', 'M', 1, 0, 1, 0 };
	struct mcai_telem_entry te[2] = {
		{ "fmnist", 3, 1000, 52000, 41000, 95000, 2 },
		{ "vib", 1, 7, 0, 0, 0, 0 },
	};
	static uint8_t sa_msgs[MCAI_MSG_SA_UNMASK - MCAI_MSG_SA_ADVERT + 3][20];
	/* a compressed delta: int8 of 4 values, one scale (compress.h) */
	static const uint8_t comp[] = { 1, 1, 0, 0, 4, 0, 0, 0, 0, 1, 0, 0,
					4, 0, 0, 0, 0, 0, 128, 63, 1, 2,
					3, 4 };
	static const float ds_mean[] = { -128.0f, 0.5f, 3.0f };
	static const float ds_var[] = { 0.0f, 1.25f, 400.0f };
	struct mcai_msg m[MCAI_MSG_MAX + 1];
	struct mcai_buf one, stream;
	const char *why;
	char name[64];
	int t;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	memset(m, 0, sizeof(m));
	m[1].type = MCAI_MSG_HELLO;
	strcpy(m[1].u.hello.node_id, "gw-1@site:a");
	m[1].u.hello.role = MCAI_ROLE_NODE;
	strcpy(m[1].u.hello.model, "fmnist");
	m[1].u.hello.model_version = 2;
	m[1].u.hello.n_samples = 600;
	m[1].u.hello.caps = MCAI_CAP_KERNEL | MCAI_CAP_TELEMETRY;
	m[2].type = MCAI_MSG_WELCOME;
	strcpy(m[2].u.welcome.node_id, "gw-1");
	strcpy(m[2].u.welcome.fleet, "default");
	m[2].u.welcome.version = 3;
	m[3].type = MCAI_MSG_ROUND;
	m[3].u.round.round_id = 4;
	strcpy(m[3].u.round.model, "fmnist");
	m[3].u.round.base_version = 3;
	m[3].u.round.deadline_ms = 30000;
	m[3].u.round.local_epochs = 1;
	m[3].u.round.batch = 32;
	m[3].u.round.lr = 0.05f;
	m[3].u.round.prox_mu = 0.01f;
	m[4].type = MCAI_MSG_MODEL;
	strcpy(m[4].u.model.model, "fmnist");
	m[4].u.model.version = 4;
	m[4].u.model.parent = 3;
	m[4].u.model.round_id = 4;
	m[4].u.model.params_f = params;
	m[4].u.model.n_params = 4;
	m[4].u.model.blob = blob;
	m[4].u.model.blob_len = sizeof(blob);
	m[4].u.model.manifest = manifest;
	m[4].u.model.manifest_len = sizeof(manifest);
	m[5].type = MCAI_MSG_UPDATE;
	m[5].u.update.round_id = 4;
	m[5].u.update.base_version = 3;
	m[5].u.update.n_samples = 600;
	m[5].u.update.train_loss = 0.4f;
	m[5].u.update.delta_f = params;
	m[5].u.update.n_delta = 4;
	m[MCAI_MSG_UPDATE_Z] = m[5];
	m[MCAI_MSG_UPDATE_Z].type = MCAI_MSG_UPDATE_Z;
	m[MCAI_MSG_UPDATE_Z].u.update.delta_f = NULL;
	m[MCAI_MSG_UPDATE_Z].u.update.n_delta = 0;
	m[MCAI_MSG_UPDATE_Z].u.update.comp = comp;
	m[MCAI_MSG_UPDATE_Z].u.update.comp_len = sizeof(comp);
	m[MCAI_MSG_DRIFT].type = MCAI_MSG_DRIFT;
	strcpy(m[MCAI_MSG_DRIFT].u.drift.model, "fmnist");
	m[MCAI_MSG_DRIFT].u.drift.version = 3;
	m[MCAI_MSG_DRIFT].u.drift.score = 2.5f;
	m[MCAI_MSG_DRIFT].u.drift.threshold = 1.0f;
	m[MCAI_MSG_MODEL_PART].type = MCAI_MSG_MODEL_PART;
	m[MCAI_MSG_MODEL_PART].u.part.version = 3;
	m[MCAI_MSG_MODEL_PART].u.part.total = 40;
	m[MCAI_MSG_MODEL_PART].u.part.offset = 32;
	m[MCAI_MSG_MODEL_PART].u.part.data = comp;
	m[MCAI_MSG_MODEL_PART].u.part.len = 8;
	m[MCAI_MSG_MODEL_RESUME].type = MCAI_MSG_MODEL_RESUME;
	m[MCAI_MSG_MODEL_RESUME].u.resume.version = 3;
	m[MCAI_MSG_MODEL_RESUME].u.resume.offset = 32;
	m[MCAI_MSG_PROGRESS].type = MCAI_MSG_PROGRESS;
	m[MCAI_MSG_PROGRESS].u.progress.round_id = 4;
	m[MCAI_MSG_PROGRESS].u.progress.done = 3;
	m[MCAI_MSG_PROGRESS].u.progress.total = 9;
	m[MCAI_MSG_DATASTATS].type = MCAI_MSG_DATASTATS;
	m[MCAI_MSG_DATASTATS].u.datastats.round_id = 4;
	m[MCAI_MSG_DATASTATS].u.datastats.samples = 10;
	m[MCAI_MSG_DATASTATS].u.datastats.n_features = 3;
	m[MCAI_MSG_DATASTATS].u.datastats.mean_f = ds_mean;
	m[MCAI_MSG_DATASTATS].u.datastats.var_f = ds_var;
	m[MCAI_MSG_DATASTATS].u.datastats.n_classes = 2;
	m[MCAI_MSG_DATASTATS].u.datastats.classes[0] = 4;
	m[MCAI_MSG_DATASTATS].u.datastats.classes[1] = 6;
	m[6].type = MCAI_MSG_TELEMETRY;
	m[6].u.telemetry.n = 2;
	m[6].u.telemetry.entries = te;
	m[7].type = MCAI_MSG_ERROR;
	m[7].u.error.code = MCAI_ERR_STALE;
	strcpy(m[7].u.error.message, "round 3 closed");
	m[8].type = MCAI_MSG_BYE;
	m[8].u.bye.reason = MCAI_BYE_SHUTDOWN;
	/* Secure aggregation: the library's header, node 2, round 4. */
	for (t = MCAI_MSG_SA_ADVERT; t <= MCAI_MSG_SA_UNMASK; t++) {
		uint8_t *sa = sa_msgs[t - MCAI_MSG_SA_ADVERT];

		sa[0] = (uint8_t)(t - MCAI_MSG_SA_ADVERT + 1);
		sa[1] = 1;
		sa[4] = 2;
		sa[8] = 4;
		sa[16] = (uint8_t)t;
		m[t].type = (uint16_t)t;
		m[t].u.secagg.data = sa;
		m[t].u.secagg.len = sizeof(sa_msgs[0]);
	}
	/* Signed rounds: CONSIST_REQ and CONSIST (library types 8, 9). */
	for (t = MCAI_MSG_SA_CONSIST_REQ; t <= MCAI_MSG_SA_CONSIST; t++) {
		uint8_t *sa = sa_msgs[MCAI_MSG_SA_UNMASK - MCAI_MSG_SA_ADVERT +
				      1 + t - MCAI_MSG_SA_CONSIST_REQ];

		sa[0] = (uint8_t)(8 + t - MCAI_MSG_SA_CONSIST_REQ);
		sa[1] = 1;
		sa[4] = 2;
		sa[8] = 4;
		sa[16] = (uint8_t)t;
		m[t].type = (uint16_t)t;
		m[t].u.secagg.data = sa;
		m[t].u.secagg.len = sizeof(sa_msgs[0]);
	}

	mcai_buf_init(&stream);
	for (t = 1; t <= MCAI_MSG_MAX; t++) {
		mcai_buf_init(&one);
		if (mcai_msg_encode(&one, &m[t], &why) ||
		    mcai_msg_frame(&stream, &m[t], &why)) {
			fprintf(stderr, "seed %d: %s\n", t, why);
			return 1;
		}
		snprintf(name, sizeof(name), "payload-%s",
			 mcai_msg_type_name((uint16_t)t));
		mcai_seed_write(argv[1], name, (uint8_t)t, &one);
		mcai_buf_free(&one);
		mcai_buf_init(&one);
		mcai_msg_frame(&one, &m[t], &why);
		snprintf(name, sizeof(name), "frame-%s",
			 mcai_msg_type_name((uint16_t)t));
		mcai_seed_write(argv[1], name, 0, &one);
		mcai_buf_free(&one);
	}
	mcai_seed_write(argv[1], "stream-all", 0, &stream);
	/* The seeds pass the target's own oracle, or abort here. */
	mcai_fuzz_stream(stream.data, stream.len);
	mcai_buf_free(&stream);
	return 0;
}

#endif /* MCAI_FRAME_SEEDS */
