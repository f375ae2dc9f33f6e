/* OpenSSL (libssl, and programs with it linked in): its table entry, version lines and placement. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "elf_image.h"
#include "openssl.h"
#include "tls_lib.h"

/* SSL_read(ssl, buf, num), SSL_read_ex(ssl, buf, num, readbytes), the same for write. */
#define OSSL_FUNC(fn, d, k, out, res) \
	{ .name = fn, .dir = d, .kind = k, .session_arg = 1, .buf_arg = 2, .len_arg = 3, \
	  .outlen_arg = out, .result = res }

/* Indexes in openssl_funcs. */
enum { F_WRITE, F_READ, F_WRITE_EX, F_READ_EX, F_READ_INTERNAL, F_WRITE_INTERNAL,
       F_WRITE_INTERNAL_5 };

static const struct tls_func openssl_funcs[] = {
	[F_WRITE] = OSSL_FUNC("SSL_write", TLSTAP_DIR_OUT, TLS_FUNC_REQUIRED, 0, TLSTAP_RES_COUNT),
	[F_READ] = OSSL_FUNC("SSL_read", TLSTAP_DIR_IN, TLS_FUNC_REQUIRED, 0, TLSTAP_RES_COUNT),
	/* OpenSSL 1.1.0 has no _ex functions: they are optional. */
	[F_WRITE_EX] = OSSL_FUNC("SSL_write_ex", TLSTAP_DIR_OUT, TLS_FUNC_OPTIONAL, 4,
				 TLSTAP_RES_OUTLEN),
	[F_READ_EX] = OSSL_FUNC("SSL_read_ex", TLSTAP_DIR_IN, TLS_FUNC_OPTIONAL, 4, TLSTAP_RES_OUTLEN),
	/*
	 * The internal functions behind SSL_read/SSL_read_ex (and the SSL BIO)
	 * and SSL_write/SSL_write_ex: cheaper to probe (see place). Their
	 * addresses come from the wrappers' code, never from a symbol; they
	 * return > 0 on success. ssl_write_internal takes written as its 5th
	 * argument from 3.3.
	 */
	[F_READ_INTERNAL] = OSSL_FUNC("ssl_read_internal", TLSTAP_DIR_IN, TLS_FUNC_INTERNAL, 4,
				      TLSTAP_RES_OUTLEN),
	[F_WRITE_INTERNAL] = OSSL_FUNC("ssl_write_internal", TLSTAP_DIR_OUT, TLS_FUNC_INTERNAL, 4,
				       TLSTAP_RES_OUTLEN),
	[F_WRITE_INTERNAL_5] = OSSL_FUNC("ssl_write_internal", TLSTAP_DIR_OUT, TLS_FUNC_INTERNAL, 5,
					 TLSTAP_RES_OUTLEN),
};

/* The wrappers in placement_openssl()'s order, as openssl_funcs indexes. */
static const int wrapper_funcs[WRAP_N] = {
	[WRAP_SSL_READ] = F_READ, [WRAP_SSL_READ_EX] = F_READ_EX,
	[WRAP_SSL_WRITE] = F_WRITE, [WRAP_SSL_WRITE_EX] = F_WRITE_EX,
};

const char *placement_line_name(enum ossl_line line)
{
	switch (line) {
	case OSSL_LINE_1_1_1:
		return "1.1.1";
	case OSSL_LINE_3_0:
		return "3.0/3.1";
	case OSSL_LINE_3_2:
		return "3.2";
	case OSSL_LINE_3_3_PLUS:
		return "3.3+";
	default:
		return "unknown";
	}
}

static void exported(struct placement *p, const char *fmt, const char *arg)
{
	p->internal = false;
	snprintf(p->why, sizeof(p->why), fmt, arg);
}

void placement_openssl(enum ossl_line line, const uint64_t wrappers[WRAP_N], code_reader_fn rd,
		       void *ctx, struct placement *p)
{
	uint64_t targets[WRAP_N];
	const char *name;
	int i;

	memset(p, 0, sizeof(*p));
	if (line == OSSL_LINE_UNKNOWN || line == OSSL_LINE_3_2) {
		exported(p, "exported functions: OpenSSL %s, internal layout not known",
			 placement_line_name(line));
		return;
	}
	for (i = 0; i < WRAP_N; i++) {
		name = openssl_funcs[wrapper_funcs[i]].name;
		if (!wrappers[i]) {
			exported(p, "exported functions: no %s", name);
			return;
		}
		if (placement_call_target(rd, ctx, wrappers[i], &targets[i])) {
			exported(p, "exported functions: %s makes no direct call", name);
			return;
		}
	}
	if (targets[WRAP_SSL_READ] != targets[WRAP_SSL_READ_EX] ||
	    targets[WRAP_SSL_WRITE] != targets[WRAP_SSL_WRITE_EX]) {
		exported(p, "exported functions: %s", "wrappers call different functions");
		return;
	}
	if (targets[WRAP_SSL_READ] == targets[WRAP_SSL_WRITE]) {
		exported(p, "exported functions: %s", "read and write wrappers call the same function");
		return;
	}
	if (placement_cheap_at(rd, ctx, targets[WRAP_SSL_READ], &p->read_vaddr) ||
	    placement_cheap_at(rd, ctx, targets[WRAP_SSL_WRITE], &p->write_vaddr)) {
		exported(p, "exported functions: %s",
			 "an internal function starts with an instruction the kernel single-steps");
		return;
	}
	p->internal = true;
	p->write_outlen_arg = line == OSSL_LINE_3_3_PLUS ? 5 : 4;
	snprintf(p->why, sizeof(p->why),
		 "internal functions: OpenSSL %s, all 4 wrappers agree, both start with push",
		 placement_line_name(line));
}

/* "OpenSSL 3.0.13 30 Jan 2024", OpenSSL_version()'s answer. */
static bool is_version_string(const char *s)
{
	unsigned int major, minor, patch;

	return sscanf(s, "OpenSSL %u.%u.%u", &major, &minor, &patch) == 3;
}

/* The line a version string names. */
static enum ossl_line line_of_string(const char *s, unsigned int major, unsigned int minor)
{
	if (major == 1 && minor == 1 && !strncmp(s, "OpenSSL 1.1.1", 13))
		return OSSL_LINE_1_1_1;
	if (major == 3 && minor <= 1)
		return OSSL_LINE_3_0;
	if (major == 3 && minor == 2)
		return OSSL_LINE_3_2;
	if (major == 3)
		return OSSL_LINE_3_3_PLUS;
	return OSSL_LINE_UNKNOWN;
}

/*
 * The release line: from the symbol versions a shared libssl defines, or
 * from the version string of a program with OpenSSL linked in.
 */
static void openssl_detect(struct elf_image *img, struct tls_points *pts)
{
	static const struct { const char *verdef, *says; enum ossl_line line; } verdefs[] = {
		{ "OPENSSL_3.2.0", "OpenSSL 3.2 (symbol versions)", OSSL_LINE_3_2 },
		{ "OPENSSL_3.0.0", "OpenSSL 3.0/3.1 (symbol versions)", OSSL_LINE_3_0 },
		{ "OPENSSL_1_1_1", "OpenSSL 1.1.1 (symbol versions)", OSSL_LINE_1_1_1 },
	};
	char s[64];
	unsigned int major, minor;
	size_t i;
	int v;

	for (v = 9; v >= 3; v--) {
		snprintf(s, sizeof(s), "OPENSSL_3.%d.0", v);
		if (elf_image_has_verdef(img, s)) {
			snprintf(pts->version, sizeof(pts->version), "OpenSSL 3.%d+ (symbol versions)", v);
			pts->flavour = OSSL_LINE_3_3_PLUS;
			return;
		}
	}
	for (i = 0; i < sizeof(verdefs) / sizeof(verdefs[0]); i++) {
		if (elf_image_has_verdef(img, verdefs[i].verdef)) {
			snprintf(pts->version, sizeof(pts->version), "%s", verdefs[i].says);
			pts->flavour = verdefs[i].line;
			return;
		}
	}
	if (elf_image_find_string(img, "OpenSSL ", is_version_string, s, sizeof(s)) == 0 &&
	    sscanf(s, "OpenSSL %u.%u.", &major, &minor) == 2) {
		snprintf(pts->version, sizeof(pts->version), "%.40s", s);
		pts->flavour = line_of_string(s, major, minor);
		return;
	}
	snprintf(pts->version, sizeof(pts->version), "OpenSSL, version unknown");
	pts->flavour = OSSL_LINE_UNKNOWN;
}

static int read_code(void *ctx, uint64_t vaddr, uint8_t *buf, size_t len)
{
	return elf_image_read(ctx, vaddr, buf, len);
}

/* The internal functions instead of the four wrappers, when placement_openssl() is certain. */
static void openssl_place(struct elf_image *img, struct tls_points *pts)
{
	uint64_t wrappers[WRAP_N] = {}, roff, woff;
	struct placement p;
	int i;

	for (i = 0; i < WRAP_N; i++)
		if (elf_image_func(img, openssl_funcs[wrapper_funcs[i]].name, &wrappers[i]))
			wrappers[i] = 0;
	placement_openssl(pts->flavour, wrappers, read_code, img, &p);
	if (p.internal) {
		roff = elf_image_offset(img, p.read_vaddr);
		woff = elf_image_offset(img, p.write_vaddr);
		if (!roff || !woff) {
			snprintf(pts->placement, sizeof(pts->placement),
				 "exported functions: internal functions outside the code");
			return;
		}
		for (i = 0; i < WRAP_N; i++)
			pts->offsets[wrapper_funcs[i]] = 0;
		pts->offsets[F_READ_INTERNAL] = roff;
		pts->offsets[p.write_outlen_arg == 5 ? F_WRITE_INTERNAL_5 : F_WRITE_INTERNAL] = woff;
	}
	snprintf(pts->placement, sizeof(pts->placement), "%s", p.why);
}

const struct tls_lib tls_lib_openssl = {
	.name = "openssl", .display = "OpenSSL",
	.file_prefixes = (const char *const[]){ "libssl.so", NULL }, .file_desc = "libssl",
	.funcs_desc = "SSL_read and SSL_write",
	.help = "OpenSSL's SSL_read/SSL_write/SSL_read_ex/SSL_write_ex",
	TLS_LIB_FUNCS(openssl_funcs), .detect = openssl_detect, .place = openssl_place,
};
