/* Finds functions in ELF files and turns their addresses into file offsets. */
#ifndef TLSTAP_ELF_SYMS_H
#define TLSTAP_ELF_SYMS_H

#include <stddef.h>
#include <stdint.h>

/*
 * For each names[i] defined as a function in path's .dynsym or .symtab,
 * offsets[i] = the function's offset in the file (what uprobes want);
 * 0 when absent. Returns 0, -ENOEXEC when path is not a usable ELF file,
 * or another negative errno when it cannot be read.
 */
int elf_find_funcs(const char *path, const char *const *names, size_t n, uint64_t *offsets);

#endif
