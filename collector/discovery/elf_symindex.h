/* A hash index of one ELF symbol table's defined C functions, by name without version suffix. */
#ifndef TLSTAP_ELF_SYMINDEX_H
#define TLSTAP_ELF_SYMINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct sym_index;

/* Indexes the first n entries of syms (names in section strndx of elf,
 * which must be readable): 0 or -ENOMEM. */
int sym_index_build(struct sym_index **ix, Elf *elf, Elf_Data *syms, size_t n, size_t strndx);
/* The value of the first defined function called name: 0, or -ENOENT.
 * C++ mangled names (_Z...) are not indexed. */
int sym_index_find(const struct sym_index *ix, const char *name, uint64_t *vaddr);
void sym_index_free(struct sym_index *ix);

#endif
