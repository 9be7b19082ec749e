// SPDX-License-Identifier: GPL-2.0
/*
 * Signature trailer parsing (sigtrailer.h).
 */
#include <string.h>

#include "models/engine/port.h"
#include "runtime/fed/sigtrailer.h"
#include "uapi/mcai.h"

int mcai_sig_trailer_parse(const unsigned char *p, size_t total,
			   uint32_t *blob_len, uint32_t *sig_len,
			   const char **why)
{
	const unsigned char *info;
	size_t body;

	if (total < MCAI_SIG_TRAILER_LEN ||
	    memcmp(p + total - MCAI_SIG_MAGIC_LEN, MCAI_SIG_MAGIC,
		   MCAI_SIG_MAGIC_LEN))
		return 0;
	body = total - MCAI_SIG_TRAILER_LEN;
	info = p + body;
	*sig_len = mcai_le32(info + 4);
	*blob_len = mcai_le32(info + 8);
	if (info[0] != MCAI_SIG_ID_PKCS7)
		*why = "signature trailer: id_type is not PKCS#7";
	else if (info[1] != MCAI_SIG_VERSION || info[2] || info[3])
		*why = "signature trailer: unknown trailer version";
	else if (!*sig_len || *sig_len > MCAI_SIG_MAX_LEN)
		*why = "signature trailer: sig_len out of range";
	else if (*sig_len > body || *blob_len != body - *sig_len)
		*why = "signature trailer: lengths do not add up (truncated?)";
	else if (!*blob_len)
		*why = "signature trailer: nothing signed";
	else
		return 1;
	return -1;
}
