/* A hash index of one ELF symbol table's defined C functions, by name without version suffix. */
#ifndef TLSTAP_ELF_SYMINDEX_H
#define TLSTAP_ELF_SYMINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sym_index;

/*
 * Reads a 64-bit symbol table (symsize bytes at symoff of fd) and its
 * string table, and indexes its defined functions: 0, or a negative errno.
 * The caller has checked both ranges lie in the file and within its caps.
 */
int sym_index_build(struct sym_index **ix, int fd, uint64_t symoff, uint64_t symsize,
		    uint64_t stroff, uint64_t strsize);
/* The value of the first defined function called name: 0, or -ENOENT.
 * C++ mangled names (_Z...) and names over 256 bytes are not indexed. */
int sym_index_find(const struct sym_index *ix, const char *name, uint64_t *vaddr);
void sym_index_free(struct sym_index *ix);

#endif
