/* Finds the relative relocation of one word of a PIE through PT_DYNAMIC (no section headers needed). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include "go_reloc.h"

#if defined(__aarch64__)
#define RELATIVE	R_AARCH64_RELATIVE
#else
#define RELATIVE	R_X86_64_RELATIVE
#endif

/* Go programs have about 10 program headers and 30 dynamic entries. */
#define MAX_PHDRS	4096
#define MAX_DYN		1024
/*
 * Bytes of relocations looked through: a 70 MB Go program linked as a PIE
 * has 0.5 M relative relocations (12 MB); a larger table is not read.
 */
#define RELA_MAX	(64ull << 20)
#define RELA_CHUNK	2048	/* entries per read */

/* The file offset and size of the PT_DYNAMIC segment: 0 or -ENOENT. */
static int find_dynamic(struct elf_image *img, uint64_t *off, uint64_t *size)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph = NULL;
	size_t i;
	int err;

	err = elf_image_pread(img, 0, &eh, sizeof(eh));
	if (err)
		return err;
	if (!eh.e_phnum || eh.e_phnum > MAX_PHDRS || eh.e_phentsize != sizeof(*ph))
		return -EINVAL;
	ph = calloc(eh.e_phnum, sizeof(*ph));
	if (!ph)
		return -ENOMEM;
	err = elf_image_charge(img, eh.e_phnum * sizeof(*ph));
	if (!err)
		err = elf_image_pread(img, eh.e_phoff, ph, eh.e_phnum * sizeof(*ph));
	for (i = 0; !err && i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_DYNAMIC) {
			*off = ph[i].p_offset;
			*size = ph[i].p_filesz;
			goto out;
		}
	}
	if (!err)
		err = -ENOENT;
out:
	free(ph);
	return err;
}

/* Where the RELA relocations lie in the file, from the dynamic section: 0 or -ENOENT. */
static int find_rela(struct elf_image *img, uint64_t *off, uint64_t *size)
{
	uint64_t dyn_off, dyn_size, rela = 0, relasz = 0, relaent = sizeof(Elf64_Rela);
	Elf64_Dyn *dyn;
	size_t n, i;
	int err = find_dynamic(img, &dyn_off, &dyn_size);

	if (err)
		return err;
	n = dyn_size / sizeof(*dyn) < MAX_DYN ? dyn_size / sizeof(*dyn) : MAX_DYN;
	if (!n)
		return -ENOENT;
	dyn = calloc(n, sizeof(*dyn));
	if (!dyn)
		return -ENOMEM;
	err = elf_image_charge(img, n * sizeof(*dyn));
	if (!err)
		err = elf_image_pread(img, dyn_off, dyn, n * sizeof(*dyn));
	for (i = 0; !err && i < n && dyn[i].d_tag != DT_NULL; i++) {
		if (dyn[i].d_tag == DT_RELA)
			rela = dyn[i].d_un.d_ptr;
		else if (dyn[i].d_tag == DT_RELASZ)
			relasz = dyn[i].d_un.d_val;
		else if (dyn[i].d_tag == DT_RELAENT)
			relaent = dyn[i].d_un.d_val;
	}
	free(dyn);
	if (err)
		return err;
	if (!rela || !relasz)
		return -ENOENT;
	if (relaent != sizeof(Elf64_Rela) || relasz % sizeof(Elf64_Rela))
		return -EINVAL;
	if (relasz > RELA_MAX)
		return -EFBIG;
	*size = relasz;
	/* The dynamic linker finds them by address, in a loaded segment. */
	return elf_image_data_offset(img, rela, relasz, off) ? -EINVAL : 0;
}

int go_reloc_addend(struct elf_image *img, uint64_t vaddr, uint64_t *addend)
{
	uint64_t off, size, done, n, i;
	Elf64_Rela *r;
	int err = find_rela(img, &off, &size), found = 0;

	if (err)
		return err;
	r = malloc(RELA_CHUNK * sizeof(*r));
	if (!r)
		return -ENOMEM;
	/* All of them: the dynamic linker applies every one, in order. */
	for (done = 0; !err && done < size; done += n * sizeof(*r)) {
		n = (size - done) / sizeof(*r) < RELA_CHUNK ? (size - done) / sizeof(*r) : RELA_CHUNK;
		err = elf_image_charge(img, n * sizeof(*r));
		if (!err)
			err = elf_image_pread(img, off + done, r, n * sizeof(*r));
		for (i = 0; !err && i < n; i++) {
			if (r[i].r_offset != vaddr)
				continue;
			/* Only one relative relocation has a value we can tell. */
			if (ELF64_R_TYPE(r[i].r_info) != RELATIVE || found++)
				err = -EINVAL;
			*addend = (uint64_t)r[i].r_addend;
		}
	}
	free(r);
	return err ? err : found ? 0 : -ENOENT;
}
