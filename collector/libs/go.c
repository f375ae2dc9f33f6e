/* Go's crypto/tls: (*Conn).Read and .Write in Go executables, probed at their entry and at every RET. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "elf_image.h"
#include "go_elf.h"
#include "tls_lib.h"

/*
 * Go links crypto/tls into each executable (statically, often stripped):
 * found by go_elf through the pclntab and the build info, not by symbols.
 * Under the amd64 register ABI (Go 1.17+) arguments come in RAX, RBX, RCX,
 * ...: the receiver *Conn is argument 1, b's pointer 2 and its length 3;
 * the result n (an int) comes back in RAX. probes/go.bpf.h reads them.
 */
#define GO_FUNC(fn, d) \
	{ .name = fn, .dir = d, .kind = TLS_FUNC_REQUIRED, .session_arg = 1, .buf_arg = 2, \
	  .len_arg = 3, .result = TLSTAP_RES_SSIZE }

enum { F_READ, F_WRITE };

static const struct tls_func go_funcs[] = {
	[F_READ] = GO_FUNC("crypto/tls.(*Conn).Read", TLSTAP_DIR_IN),
	[F_WRITE] = GO_FUNC("crypto/tls.(*Conn).Write", TLSTAP_DIR_OUT),
};

/* pts->version from what go_elf found: "Go go1.19.8 (stripped, PIE)"; a
 * version longer than Go's own is cut. */
static void go_describe(const struct go_info *gi, struct tls_points *pts)
{
	snprintf(pts->version, sizeof(pts->version), "Go %.24s (%s%s)", gi->version,
		 gi->stripped ? "stripped" : "symbols", gi->pie ? ", PIE" : "");
}

/* Function fi's entry and RETs into pts; false when they do not fit. */
static bool go_add(struct tls_points *pts, int fi, const struct go_func *f)
{
	int i;

	if (f->nrets < 1 || f->nrets > GO_MAX_RETS || pts->nrets + f->nrets > TLS_MAX_RETS)
		return false;
	pts->offsets[fi] = f->probe ? f->probe : f->entry;
	for (i = 0; i < f->nrets; i++) {
		pts->rets[pts->nrets] = f->rets[i];
		pts->ret_func[pts->nrets++] = (uint8_t)fi;
	}
	return true;
}

static int go_find(struct elf_image *img, struct tls_points *pts)
{
	char why[160] = "";
	struct go_info gi;
	int err;

	memset(pts, 0, sizeof(*pts));
	memset(&gi, 0, sizeof(gi));
	err = go_elf_inspect(img, &gi, why, sizeof(why));
	/* Go, but not probeable here (old ABI, other architecture, too many RETs). */
	if (err == -ENOTSUP || err == -E2BIG) {
		if (gi.version[0])
			go_describe(&gi, pts);
		else
			snprintf(pts->version, sizeof(pts->version), "Go");
		snprintf(pts->placement, sizeof(pts->placement), "not probed: %s", why);
		return -ENOTSUP;
	}
	if (err)
		return -ENOENT;
	go_describe(&gi, pts);
	if (!go_add(pts, F_READ, &gi.read) || !go_add(pts, F_WRITE, &gi.write)) {
		memset(pts->offsets, 0, sizeof(pts->offsets));
		pts->nrets = 0;
		snprintf(pts->placement, sizeof(pts->placement),
			 "not probed: Read has %d RETs and Write %d (tlstap probes at most %d)",
			 gi.read.nrets, gi.write.nrets, TLS_MAX_RETS);
		return -ENOTSUP;
	}
	snprintf(pts->placement, sizeof(pts->placement),
		 "entry and every RET, no return probe: Read %d RET probes, Write %d",
		 gi.read.nrets, gi.write.nrets);
	return 0;
}

/* go_find says it all. */
static void go_detect(struct elf_image *img, struct tls_points *pts)
{
}

const struct tls_lib tls_lib_go = {
	.name = "go", .display = "Go crypto/tls",
	.file_prefixes = (const char *const[]){ NULL },
	.file_desc = "Go programs", .funcs_desc = "crypto/tls.(*Conn).Read and .Write",
	.help = "Go's crypto/tls (*Conn).Read/Write in Go programs (amd64, Go 1.17+)",
	TLS_LIB_FUNCS(go_funcs), .detect = go_detect, .find = go_find, .at_rets = true,
};
