/* NSS: its SSL layer's plaintext, probed where applications hand it over (NSPR's PR_Write and kin). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "elf_image.h"
#include "tls_lib.h"

/*
 * NSS moves application data through a stack of NSPR file-descriptor layers:
 * PR_Write(fd, buf, amount) in libnspr4 only jumps to fd->methods->write of
 * the top layer, which is libssl3's ssl_Write when that layer is SSL. The SSL
 * layer's functions are static (no symbol; the table of them is built at run
 * time), and libssl3 reaches the layer below through its methods, never
 * through PR_Write and kin: the four exported entry points see exactly what
 * applications hand to, and get from, the top layer, once. They serve every
 * other descriptor too (files, plain TCP): a call is captured only when its
 * top layer is SSL, which NSS marks itself. The layer's private data
 * (PRFileDesc.secret) is its sslSocket, whose first member points back at the
 * layer (NSS resets it on each call, see ssl_FindSocket); no other layer's
 * does (NSPR's own begin with two small ints).
 */
#define PRFILEDESC_SECRET	8	/* prio.h: { methods, secret, lower, higher, dtor, identity } */
#define SSLSOCKET_FD		0	/* lib/ssl/sslimpl.h: struct sslSocketStr { PRFileDesc *fd; ... } */
#define PR_MSG_PEEK		0x2	/* prio.h: PR_Recv's flags; a peek leaves the bytes for the next read */

#define SSL_LAYER { .back_ref = 1, .priv_off = PRFILEDESC_SECRET, .back_off = SSLSOCKET_FD }

/* All take (fd, buf, amount, ...) and return a PRInt32 count; PR_Writev's
 * buffer is (PRIOVec *iov, PRInt32 iov_size), at most 16 { char *, int }. */
#define NSS_FUNC(fn, d, bk, ...) \
	{ .name = fn, .dir = d, .kind = TLS_FUNC_REQUIRED, .session_arg = 1, .buf_arg = 2, \
	  .len_arg = 3, .result = TLSTAP_RES_COUNT, .buf_kind = bk, .guard = __VA_ARGS__ }

/*
 * ssl_WriteV sends its gathered vector through the SSL layer's own send, not
 * PR_Send: selfserv answers with PR_Writev. Not probed: PR_SendTo and
 * PR_RecvFrom (the SSL layer refuses them), PR_TransmitFile and PR_SendFile
 * (emulated, through PR_Send).
 */
static const struct tls_func nss_funcs[] = {
	NSS_FUNC("PR_Write", TLSTAP_DIR_OUT, TLSTAP_BUF_FLAT, SSL_LAYER),
	NSS_FUNC("PR_Send", TLSTAP_DIR_OUT, TLSTAP_BUF_FLAT, SSL_LAYER),
	NSS_FUNC("PR_Writev", TLSTAP_DIR_OUT, TLSTAP_BUF_IOVEC, SSL_LAYER),
	NSS_FUNC("PR_Read", TLSTAP_DIR_IN, TLSTAP_BUF_FLAT, SSL_LAYER),
	NSS_FUNC("PR_Recv", TLSTAP_DIR_IN, TLSTAP_BUF_FLAT, { .back_ref = 1, .priv_off = PRFILEDESC_SECRET,
					     .back_off = SSLSOCKET_FD, .skip_arg = 4,
					     .skip_mask = PR_MSG_PEEK }),
};

/* NSPR's version ("4.35"), which libnspr4 keeps as a string of its own. */
static bool nspr_version(const char *s)
{
	if (s[0] != '4' || s[1] != '.' || !isdigit((unsigned char)s[2]))
		return false;
	for (s += 2; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
	return true;
}

static void nss_detect(struct elf_image *img, struct tls_points *pts)
{
	char v[16];

	if (elf_image_find_string(img, "4.", nspr_version, v, sizeof(v)) == 0)
		snprintf(pts->version, sizeof(pts->version), "NSS (NSPR %s)", v);
	else
		snprintf(pts->version, sizeof(pts->version), "NSS (NSPR)");
}

const struct tls_lib tls_lib_nss = {
	.name = "nss", .display = "NSS",
	.file_prefixes = (const char *const[]){ "libnspr4.so", NULL },
	.file_desc = "libnspr4 (NSS)",
	.funcs_desc = "PR_Read, PR_Recv, PR_Write, PR_Send and PR_Writev",
	.help = "NSS's SSL layer through NSPR's PR_Read/PR_Recv/PR_Write/PR_Send/PR_Writev",
	TLS_LIB_FUNCS(nss_funcs), .detect = nss_detect,
};
