/* BoringSSL (its libssl, and programs with it linked in): OpenSSL's API, told apart by its own symbols. */
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "elf_image.h"
#include "tls_lib.h"

extern const struct tls_lib tls_lib_openssl;

/* SSL_read(ssl, buf, num) and SSL_write(ssl, buf, num) return the count. */
#define BSSL_FUNC(fn, d) \
	{ .name = fn, .dir = d, .kind = TLS_FUNC_REQUIRED, .session_arg = 1, .buf_arg = 2, \
	  .len_arg = 3, .result = TLSTAP_RES_COUNT }

/*
 * Only the pair: the Android 13 build Debian ships exports no SSL_read_ex or
 * SSL_write_ex, and its SSL BIO calls these two. Probed where exported: BoringSSL's internal functions are C++ and change
 * between releases, nothing here proves a cheaper point safe.
 */
static const struct tls_func boringssl_funcs[] = {
	BSSL_FUNC("SSL_write", TLSTAP_DIR_OUT),
	BSSL_FUNC("SSL_read", TLSTAP_DIR_IN),
};

/*
 * Functions no OpenSSL defines: libssl's GREASE switch (every release since
 * 2016), and for programs with both halves linked in, libcrypto's buffer
 * pool that BoringSSL's libssl keeps certificates in, and its self test.
 */
static const char *const boringssl_marks[] = {
	"SSL_CTX_set_grease_enabled", "CRYPTO_BUFFER_free", "BORINGSSL_self_test", NULL,
};

/* "BoringSSL" is OpenSSL_version()'s whole answer in BoringSSL: it has no
 * version number. */
static bool is_version_string(const char *s)
{
	return !strcmp(s, "BoringSSL");
}

static void boringssl_detect(struct elf_image *img, struct tls_points *pts)
{
	const char *const *m;
	char s[16];
	uint64_t vaddr;

	if (!elf_image_find_string(img, "BoringSSL", is_version_string, s, sizeof(s))) {
		snprintf(pts->version, sizeof(pts->version), "BoringSSL (version string)");
		return;
	}
	for (m = boringssl_marks; *m; m++)
		if (!elf_image_func(img, *m, &vaddr)) {
			snprintf(pts->version, sizeof(pts->version), "BoringSSL (%.32s)", *m);
			return;
		}
	snprintf(pts->version, sizeof(pts->version), "BoringSSL");
}

const struct tls_lib tls_lib_boringssl = {
	.name = "boringssl", .display = "BoringSSL",
	.file_prefixes = (const char *const[]){ "libssl.so", NULL },
	.file_desc = "BoringSSL's libssl", .funcs_desc = "SSL_read and SSL_write",
	.help = "BoringSSL's SSL_read/SSL_write",
	TLS_LIB_FUNCS(boringssl_funcs), .detect = boringssl_detect,
	.marks = boringssl_marks, .shadows = &tls_lib_openssl,
};
