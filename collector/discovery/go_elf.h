/* Where to put probes in a Go executable: crypto/tls.(*Conn).Read and .Write, their entries and RETs. */
#ifndef TLSTAP_GO_ELF_H
#define TLSTAP_GO_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "elf_image.h"

/* Return values are read by uprobes on each RET: never uretprobes on Go
 * code, whose stacks move. A function with more RETs is refused. */
#define GO_MAX_RETS 64

struct go_func {
	uint64_t entry;			/* file offset of the first instruction */
	/* Where the entry uprobe goes: the jump after the stack check (emulated
	 * by the kernel, where the check is single-stepped), else entry. */
	uint64_t probe;
	uint64_t rets[GO_MAX_RETS];	/* file offsets of every RET instruction in the function */
	int nrets;
};

struct go_info {
	char version[32];	/* "go1.19.8" from the build info, "" if unknown */
	int major, minor;	/* 1, 19; 0 if unknown */
	bool regabi;		/* amd64 register ABI (Go >= 1.17) */
	bool stripped;		/* found through .gopclntab, no .symtab */
	bool pie;
	struct go_func read, write;	/* crypto/tls.(*Conn).Read and .Write */
};

/*
 * 0 and gi filled; -ENOENT: not a Go program or no crypto/tls in it;
 * -ENOTSUP: a Go program tlstap cannot probe (not amd64, the stack ABI
 * before 1.17, or where its function table counts from unknown), with gi's
 * version fields filled; -EINVAL: malformed, or an entry found that does
 * not begin with Go's stack check; -E2BIG: a function with more than
 * GO_MAX_RETS RETs; -EFBIG: more to read than the image's budget; other
 * -errno. On an error other than -ENOENT, why (when not NULL) says what,
 * for the caller to print.
 */
int go_elf_inspect(struct elf_image *img, struct go_info *gi, char *why, size_t whylen);

#endif
