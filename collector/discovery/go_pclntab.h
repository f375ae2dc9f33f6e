/* Go's function table (.gopclntab): where a function of a Go executable starts and ends, by name. */
#ifndef TLSTAP_GO_PCLNTAB_H
#define TLSTAP_GO_PCLNTAB_H

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

struct go_pclntab {
	uint8_t *data;		/* the whole table, read once */
	size_t len;
	enum go_pcln_layout layout;
	uint64_t nfunc;
	uint64_t text_start;	/* what 1.18+ function offsets count from */
	uint64_t funcnames;	/* offset in data of the function name table */
	uint64_t functab;	/* offset in data of the (entry, _func offset) pairs */
};

/*
 * Finds and reads the table of img: 0; -ENOENT when there is none (not a Go
 * program); -EINVAL when it is malformed or not of a 64-bit little-endian
 * x86 program; -ENOMEM. The table is found by its section, or when section
 * headers are gone by its header's magic in the read-only segments.
 */
int go_pclntab_open(struct elf_image *img, struct go_pclntab *t);
/* The [entry, end) addresses of the function called name: 0, -ENOENT, or
 * -EINVAL when its entry in the table is malformed. */
int go_pclntab_func(const struct go_pclntab *t, const char *name, uint64_t *entry, uint64_t *end);
void go_pclntab_close(struct go_pclntab *t);

#endif
