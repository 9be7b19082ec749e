// SPDX-License-Identifier: GPL-2.0
/*
 * Signed models.
 *
 * With require_signed=1, /dev/mcai loads only blobs that carry a PKCS#7
 * signature (uapi/mcai.h, "Signed blobs") made by a key in the ".mcai"
 * keyring, which the module creates at init.  This is how the kernel
 * verifies modules, with a keyring of its own so that the keys trusted
 * for models are neither the ones trusted for kernel code nor need a
 * kernel rebuild: even a compromised daemon holding CAP_SYS_ADMIN (but
 * not root's key permissions) cannot load a model nobody signed.
 *
 * The keyring belongs to root and is not linked into any process
 * keyring.  Root (fsuid 0) may view, read, search, add to, unlink from
 * and restrict it; it is not meant to be linked elsewhere, and is
 * invalidated when the module goes, so that it dies with it even if it
 * was.  An operator adds an X.509 certificate (DER) with
 *
 *	keyctl padd asymmetric "" %keyring:.mcai < signer.der
 *
 * and may then lock it for good (a keyring restriction is one-way):
 *
 *	keyctl restrict_keyring %keyring:.mcai
 *
 * Unlike the system keyrings it is not KEY_FLAG_KEEP: that flag passes to
 * every key added and would make a key impossible to unlink (revoke).
 * Whatever root does to the keyring itself (clear, revoke, invalidate,
 * time out) fails closed: fewer keys, fewer blobs load.
 *
 * No restriction is set here on purpose: with one, the operator could
 * no longer choose one (KEYCTL_RESTRICT_KEYRING refuses a second), and a
 * restriction callback in module text would outlive rmmod in a keyring
 * someone still references.
 *
 * require_signed can be switched on at run time but never off: a switch
 * that only narrows what loads is safe to flip under concurrent loads (a
 * load already past the check completes as if it ran just before the
 * switch), and switching it off is exactly what an attacker would want.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/key.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "compat.h"
#include "sign.h"
#include "uapi/mcai.h"

static_assert(sizeof(struct mcai_sig_info) + MCAI_SIG_MAGIC_LEN ==
	      MCAI_SIG_TRAILER_LEN);
static_assert(sizeof(MCAI_SIG_MAGIC) == MCAI_SIG_MAGIC_LEN + 1);

#define MCAI_KEYRING_NAME	".mcai"

static struct key *mcai_keyring;
static bool require_signed;

static int mcai_require_signed_set(const char *val,
				   const struct kernel_param *kp)
{
	bool on;
	int ret;

	ret = kstrtobool(val, &on);
	if (ret)
		return ret;
	if (!on && READ_ONCE(require_signed))
		return -EPERM;
	WRITE_ONCE(require_signed, on);
	return 0;
}

static const struct kernel_param_ops mcai_require_signed_ops = {
	.set = mcai_require_signed_set,
	.get = param_get_bool,
};
module_param_cb(require_signed, &mcai_require_signed_ops, &require_signed,
		0644);
__MODULE_PARM_TYPE(require_signed, "bool");
MODULE_PARM_DESC(require_signed,
		 "load only blobs signed by a key in the .mcai keyring (can be set, never cleared, at run time)");

int __init mcai_sign_init(void)
{
	struct key *k;

	k = keyring_alloc(MCAI_KEYRING_NAME, GLOBAL_ROOT_UID, GLOBAL_ROOT_GID,
			  current_cred(),
			  (KEY_POS_ALL & ~KEY_POS_SETATTR) | KEY_USR_VIEW |
			  KEY_USR_READ | KEY_USR_WRITE | KEY_USR_SEARCH |
			  KEY_USR_SETATTR,
			  KEY_ALLOC_NOT_IN_QUOTA,
			  NULL, NULL);
	if (IS_ERR(k)) {
		pr_err("cannot allocate the %s keyring: %ld\n",
		       MCAI_KEYRING_NAME, PTR_ERR(k));
		return PTR_ERR(k);
	}
	mcai_keyring = k;
	return 0;
}

/*
 * No load is in flight: every fd is closed before module exit.  Root
 * may have linked the keyring elsewhere (setattr is allowed, so that
 * it can be restricted): invalidate it, so that a lookup by name after
 * a reload never finds this one instead of the new module's.
 */
void mcai_sign_exit(void)
{
	key_invalidate(mcai_keyring);
	key_put(mcai_keyring);
	mcai_keyring = NULL;
}

/*
 * The DER of the PKCS#7 must end where sig_len says: the kernel's parser
 * ignores bytes after it, and a signature nobody signed a byte of should
 * not ride along (one encoding per signed blob).  @p has @len >= 1 bytes.
 */
static bool mcai_sign_der_len_ok(const u8 *p, u32 len)
{
	u32 n, i, body = 0;

	if (len < 2 || p[0] != 0x30)	/* SEQUENCE */
		return false;
	if (p[1] < 0x80)
		return 2 + p[1] == len;
	n = p[1] & 0x7f;
	/* MCAI_SIG_MAX_LEN < 2^16: two length bytes at most */
	if (n < 1 || n > 2 || len < 2 + n)
		return false;
	for (i = 0; i < n; i++)
		body = body << 8 | p[2 + i];
	return 2 + n + body == len;
}

/* What verify_pkcs7_signature()'s errors mean to the operator. */
static const char *mcai_sign_why(int err)
{
	switch (err) {
	case -ENOKEY:
		return "signature: signer not in the .mcai keyring";
	case -EKEYREJECTED:
		return "signature does not match the blob or the key";
	case -ENOPKG:
		return "signature: unsupported algorithm";
	case -EBADMSG:
	case -EMSGSIZE:		/* past what the ASN.1 decoder takes */
		return "signature: PKCS#7 does not parse";
	default:
		return "signature: refused by the kernel's PKCS#7 verifier";
	}
}

/*
 * The trailer is attacker-controlled: nothing in it is believed before
 * it is checked against the length the kernel copied, and sig_len is
 * bounded before it reaches the PKCS#7 parser.
 */
int mcai_sign_check(const void *blob, u32 *size, const char **reason)
{
	const bool required = READ_ONCE(require_signed);
	const u8 *p = blob;
	struct mcai_sig_info info;
	u32 total = *size, body, sig_len, blob_len;
	int ret;

	*reason = NULL;
	if (total < MCAI_SIG_TRAILER_LEN ||
	    memcmp(p + total - MCAI_SIG_MAGIC_LEN, MCAI_SIG_MAGIC,
		   MCAI_SIG_MAGIC_LEN)) {
		if (!required)
			return 0;
		*reason = "unsigned blob refused (require_signed=1)";
		return -EKEYREJECTED;
	}

	body = total - MCAI_SIG_TRAILER_LEN;	/* blob + PKCS#7 */
	memcpy(&info, p + body, sizeof(info));
	sig_len = le32_to_cpu(info.sig_len);
	blob_len = le32_to_cpu(info.blob_len);
	if (info.id_type != MCAI_SIG_ID_PKCS7) {
		*reason = "signature: id_type is not PKCS#7";
		return -EBADMSG;
	}
	if (info.version != MCAI_SIG_VERSION ||
	    info.reserved[0] || info.reserved[1]) {
		*reason = "signature: unknown trailer version";
		return -EBADMSG;
	}
	if (!sig_len || sig_len > MCAI_SIG_MAX_LEN) {
		*reason = "signature: sig_len out of range";
		return -EBADMSG;
	}
	if (sig_len > body || blob_len != body - sig_len) {
		*reason = "signature: lengths do not add up (truncated?)";
		return -EBADMSG;
	}
	if (!blob_len) {
		*reason = "signature: nothing signed";
		return -EBADMSG;
	}

	if (required) {
		if (!mcai_sign_der_len_ok(p + blob_len, sig_len)) {
			*reason = "signature: PKCS#7 length is not sig_len";
			return -EBADMSG;
		}
		ret = mcai_verify_pkcs7(p, blob_len, p + blob_len, sig_len,
					mcai_keyring);
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			*reason = mcai_sign_why(ret);
			return ret == -EBADMSG || ret == -EMSGSIZE ?
			       -EBADMSG : -EKEYREJECTED;
		}
	}
	*size = blob_len;
	return 0;
}
