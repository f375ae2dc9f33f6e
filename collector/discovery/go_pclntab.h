/* Go's function table (.gopclntab): where a function of a Go executable starts and ends, by name. */
#ifndef TLSTAP_GO_PCLNTAB_H
#define TLSTAP_GO_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "elf_image.h"

/* The table's layouts, named by the first Go release that wrote each. */
enum go_pcln_layout {
	GO_PCLN_12 = 1,		/* Go 1.2 to 1.15: stack ABI only */
	GO_PCLN_116,		/* Go 1.16 and 1.17 */
	GO_PCLN_118,		/* Go 1.18 and 1.19 */
	GO_PCLN_120,		/* Go 1.20 and later */
};

/* The table in the file, read a window at a time when looked up. */
struct go_pclntab {
	struct elf_image *img;
	uint64_t off;		/* file offset of the table's header */
	uint64_t len;		/* bytes of the file the table may span */
	enum go_pcln_layout layout;
	uint64_t nfunc;
	uint64_t text_start;	/* what 1.18+ function offsets count from */
	bool text_unknown;	/* 1.18+ and text_start unknown: entries cannot be told */
	uint64_t funcnames;	/* offset in the table of the function name table */
	uint64_t names_end;	/* and of its end */
	uint64_t functab;	/* offset in the table of the (entry, _func offset) pairs */
};

/* One function looked up by go_pclntab_find(). */
struct go_pcln_func {
	const char *name;
	uint64_t entry, end;	/* [entry, end) addresses when found */
	int err;		/* 0 found, -ENOENT, -EINVAL: its table entry is malformed */
};

/*
 * Finds the table of img and checks its header: 0; -ENOENT when there is
 * none (not a Go program); -EINVAL when it is malformed or not of a 64-bit
 * little-endian x86 program; -EFBIG when finding it would read more of the
 * file than its budget allows; -ENOMEM. The table is found by its section,
 * or when section headers are gone by its header's magic in the read-only
 * segments. A 1.18+ table whose text start can be told neither from the
 * file, its dynamic relocation nor runtime.text in .symtab is opened with
 * text_unknown set: its names can be looked up, its addresses not used.
 */
int go_pclntab_open(struct elf_image *img, struct go_pclntab *t);
/*
 * Looks up the n functions of fns in one pass over the table, reading only
 * the rows, the _func records' names and the names they point at, a window
 * at a time, counted against the image's budget. 0 with each fns[i].err
 * set, or a negative errno when the table could not be read (-EFBIG: over
 * the budget).
 */
int go_pclntab_find(const struct go_pclntab *t, struct go_pcln_func *fns, size_t n);

#endif
