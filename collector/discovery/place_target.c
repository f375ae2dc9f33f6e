/* Applies probe placement to a target file: version, wrappers' code, chosen offsets. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "elf_image.h"
#include "log.h"
#include "placement.h"
#include "probe_table.h"
#include "targets.h"

static int read_code(void *ctx, uint64_t vaddr, uint8_t *buf, size_t len)
{
	return elf_image_read(ctx, vaddr, buf, len);
}

/* "OpenSSL 3.0.13 30 Jan 2024", OpenSSL_version()'s answer. */
static bool is_version_string(const char *s)
{
	unsigned int major, minor, patch;

	return sscanf(s, "OpenSSL %u.%u.%u", &major, &minor, &patch) == 3;
}

/*
 * The release line: from the symbol versions a shared libssl defines, or
 * from the version string of a program with OpenSSL linked in.
 */
static enum ossl_line openssl_line(struct elf_image *img, char *version, size_t len)
{
	char s[64];
	unsigned int major, minor;
	int v;

	for (v = 9; v >= 3; v--) {
		snprintf(s, sizeof(s), "OPENSSL_3.%d.0", v);
		if (elf_image_has_verdef(img, s)) {
			snprintf(version, len, "OpenSSL 3.%d+ (symbol versions)", v);
			return OSSL_LINE_3_3_PLUS;
		}
	}
	if (elf_image_has_verdef(img, "OPENSSL_3.2.0")) {
		snprintf(version, len, "OpenSSL 3.2 (symbol versions)");
		return OSSL_LINE_3_2;
	}
	if (elf_image_has_verdef(img, "OPENSSL_3.0.0")) {
		snprintf(version, len, "OpenSSL 3.0/3.1 (symbol versions)");
		return OSSL_LINE_3_0;
	}
	if (elf_image_has_verdef(img, "OPENSSL_1_1_1")) {
		snprintf(version, len, "OpenSSL 1.1.1 (symbol versions)");
		return OSSL_LINE_1_1_1;
	}
	if (elf_image_find_string(img, "OpenSSL ", is_version_string, s, sizeof(s)) == 0 &&
	    sscanf(s, "OpenSSL %u.%u.", &major, &minor) == 2) {
		snprintf(version, len, "%.40s", s);
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
	snprintf(version, len, "OpenSSL, version unknown");
	return OSSL_LINE_UNKNOWN;
}

static void set_offset(struct target *t, const char *name, uint8_t style, uint64_t off)
{
	int id = probe_func_id(name, style);

	if (id >= 0 && id < TARGET_MAX_FUNCS)
		t->offsets[id] = off;
}

static void place_openssl(struct target *t, struct elf_image *img, enum probe_mode mode)
{
	static const char *const wrap_names[WRAP_N] = { "SSL_read", "SSL_read_ex", "SSL_write",
							"SSL_write_ex" };
	uint64_t wrappers[WRAP_N] = {}, roff, woff;
	enum ossl_line line = openssl_line(img, t->version, sizeof(t->version));
	struct placement p;
	int i;

	if (mode == PROBE_EXPORTED) {
		snprintf(t->placement, sizeof(t->placement), "exported functions: --probe-mode exported");
		return;
	}
	for (i = 0; i < WRAP_N; i++)
		if (elf_image_func(img, wrap_names[i], &wrappers[i]))
			wrappers[i] = 0;
	placement_openssl(line, wrappers, read_code, img, &p);
	if (p.internal) {
		roff = elf_image_offset(img, p.read_vaddr);
		woff = elf_image_offset(img, p.write_vaddr);
		if (!roff || !woff) {
			snprintf(t->placement, sizeof(t->placement),
				 "exported functions: internal functions outside the code");
			return;
		}
		for (i = 0; i < WRAP_N; i++)
			set_offset(t, wrap_names[i], i == WRAP_SSL_READ || i == WRAP_SSL_WRITE ?
				   TLSTAP_RET_COUNT : TLSTAP_RET_EX, 0);
		set_offset(t, "ssl_read_internal", TLSTAP_RET_EX, roff);
		set_offset(t, "ssl_write_internal",
			   p.write_outlen_arg == 5 ? TLSTAP_RET_EX5 : TLSTAP_RET_EX, woff);
	}
	snprintf(t->placement, sizeof(t->placement), "%s", p.why);
}

/* gnutls_record_send only jumps to gnutls_record_send2 (3.6.3+): probing
 * send2 alone sees both, with one trap instead of two. */
static void place_gnutls(struct target *t, struct elf_image *img, enum probe_mode mode)
{
	uint64_t send = 0, send2 = 0, target, slot;
	uint8_t code[64];
	char name[64];
	int n;

	snprintf(t->version, sizeof(t->version), "GnuTLS");
	if (mode == PROBE_EXPORTED) {
		snprintf(t->placement, sizeof(t->placement), "exported functions: --probe-mode exported");
		return;
	}
	snprintf(t->placement, sizeof(t->placement), "exported functions");
	if (elf_image_func(img, "gnutls_record_send", &send) ||
	    elf_image_func(img, "gnutls_record_send2", &send2))
		return;
	n = elf_image_read(img, send, code, sizeof(code));
	if (n <= 0 || placement_tail_jump(code, (size_t)n, send, &target))
		return;
	if (target != send2) {
		/* Through the PLT: the stub's GOT slot must be relocated to send2. */
		n = elf_image_read(img, target, code, sizeof(code));
		if (n <= 0 || placement_plt_slot(code, (size_t)n, target, &slot) ||
		    elf_image_slot_symbol(img, slot, name, sizeof(name)) ||
		    strcmp(name, "gnutls_record_send2"))
			return;
	}
	set_offset(t, "gnutls_record_send", TLSTAP_RET_SSIZE, 0);
	snprintf(t->placement, sizeof(t->placement),
		 "exported functions; gnutls_record_send only jumps to gnutls_record_send2: probed there");
}

void targets_place(struct target *t, struct elf_image *img, enum probe_mode mode)
{
	snprintf(t->placement, sizeof(t->placement), "exported functions");
	if (t->lib == TLSTAP_LIB_OPENSSL)
		place_openssl(t, img, mode);
	else if (t->lib == TLSTAP_LIB_GNUTLS)
		place_gnutls(t, img, mode);
}
