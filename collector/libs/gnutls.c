/* GnuTLS (libgnutls): its table entry and its one placement rule. */
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "elf_image.h"
#include "placement.h"
#include "tls_lib.h"

/* gnutls_record_send(session, data, size) and its kin return ssize_t. */
#define GNUTLS_FUNC(fn, d, k) \
	{ .name = fn, .dir = d, .kind = k, .session_arg = 1, .buf_arg = 2, .len_arg = 3, \
	  .result = TLSTAP_RES_SSIZE }

/* Indexes in gnutls_funcs. */
enum { F_SEND, F_RECV, F_SEND2 };

/*
 * gnutls_record_send jumps to gnutls_record_send2 (3.6.3+); both are probed
 * for older versions and captured once (see tls_entry). Not probed:
 * gnutls_record_recv_packet (zero-copy, the data is read later through
 * gnutls_packet_get) and gnutls_record_send_file (kernel TLS). All take
 * (session, data, size, ...).
 */
static const struct tls_func gnutls_funcs[] = {
	[F_SEND] = GNUTLS_FUNC("gnutls_record_send", TLSTAP_DIR_OUT, TLS_FUNC_REQUIRED),
	[F_RECV] = GNUTLS_FUNC("gnutls_record_recv", TLSTAP_DIR_IN, TLS_FUNC_REQUIRED),
	[F_SEND2] = GNUTLS_FUNC("gnutls_record_send2", TLSTAP_DIR_OUT, TLS_FUNC_OPTIONAL),
	GNUTLS_FUNC("gnutls_record_recv_seq", TLSTAP_DIR_IN, TLS_FUNC_OPTIONAL),
	GNUTLS_FUNC("gnutls_record_send_range", TLSTAP_DIR_OUT, TLS_FUNC_OPTIONAL),
	GNUTLS_FUNC("gnutls_record_send_early_data", TLSTAP_DIR_OUT, TLS_FUNC_OPTIONAL),
	GNUTLS_FUNC("gnutls_record_recv_early_data", TLSTAP_DIR_IN, TLS_FUNC_OPTIONAL),
};

static void gnutls_detect(struct elf_image *img, struct tls_points *pts)
{
	snprintf(pts->version, sizeof(pts->version), "GnuTLS");
}

/* gnutls_record_send only jumps to gnutls_record_send2 (3.6.3+): probing
 * send2 alone sees both, with one trap instead of two. */
static void gnutls_place(struct elf_image *img, struct tls_points *pts)
{
	uint64_t send = 0, send2 = 0, target, slot;
	uint8_t code[64];
	char name[64];
	int n;

	if (elf_image_func(img, gnutls_funcs[F_SEND].name, &send) ||
	    elf_image_func(img, gnutls_funcs[F_SEND2].name, &send2))
		return;
	n = elf_image_read(img, send, code, sizeof(code));
	if (n <= 0 || placement_tail_jump(code, (size_t)n, send, &target))
		return;
	if (target != send2) {
		/* Through the PLT: the stub's GOT slot must be relocated to send2. */
		n = elf_image_read(img, target, code, sizeof(code));
		if (n <= 0 || placement_plt_slot(code, (size_t)n, target, &slot) ||
		    elf_image_slot_symbol(img, slot, name, sizeof(name)) ||
		    strcmp(name, gnutls_funcs[F_SEND2].name))
			return;
	}
	pts->offsets[F_SEND] = 0;
	snprintf(pts->placement, sizeof(pts->placement),
		 "exported functions; gnutls_record_send only jumps to gnutls_record_send2: probed there");
}

const struct tls_lib tls_lib_gnutls = {
	.name = "gnutls", .display = "GnuTLS",
	.file_prefixes = (const char *const[]){ "libgnutls.so", NULL }, .file_desc = "libgnutls",
	.funcs_desc = "gnutls_record_recv and gnutls_record_send",
	.help = "GnuTLS's gnutls_record_recv/gnutls_record_send (and variants)",
	TLS_LIB_FUNCS(gnutls_funcs), .detect = gnutls_detect, .place = gnutls_place,
};
