/* Function symbol lookup with libelf; every count and index is bounded. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/types.h>
#include "elf_syms.h"

/* Probes read arguments in the native calling convention: other ELF
 * machines and 32-bit files would hand them garbage. */
#if defined(__x86_64__)
#define NATIVE_MACHINE	EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE	EM_AARCH64
#else
#error "tlstap supports x86-64 and arm64"
#endif

/* Symbol tables larger than this are not believed (node's has ~100k). */
#define MAX_SYMS	(1u << 24)

/* The file offset of virtual address vaddr, via the executable segment holding it. */
static uint64_t vaddr_to_offset(Elf *elf, uint64_t vaddr)
{
	size_t i, nphdr;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &nphdr))
		return 0;
	for (i = 0; i < nphdr && i < 4096; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph))
			return 0;
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_memsz &&
		    vaddr - ph.p_vaddr < ph.p_filesz)
			return vaddr - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

/* "SSL_read" matches "SSL_read" and "SSL_read@@OPENSSL_3.0.0". */
static int name_matches(const char *symname, const char *want)
{
	size_t len = strlen(want);

	return strncmp(symname, want, len) == 0 && (symname[len] == '\0' || symname[len] == '@');
}

static void scan_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
			const char *const *names, size_t n, uint64_t *offsets)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t nsyms, i, k;
	GElf_Sym sym;
	const char *symname;

	if (!data || sh->sh_entsize == 0)
		return;
	nsyms = sh->sh_size / sh->sh_entsize;
	if (nsyms > MAX_SYMS)
		nsyms = MAX_SYMS;
	for (i = 0; i < nsyms; i++) {
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
		    sym.st_value == 0)
			continue;
		symname = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!symname)
			continue;
		for (k = 0; k < n; k++) {
			if (offsets[k] || !name_matches(symname, names[k]))
				continue;
			offsets[k] = vaddr_to_offset(elf, sym.st_value);
		}
	}
}

/*
 * A truncated file keeps a valid header whose tables lie past its end;
 * libelf then reports no sections rather than an error.
 */
static bool tables_in_file(const GElf_Ehdr *eh, __u64 size)
{
	__u64 sh_len = (__u64)eh->e_shnum * eh->e_shentsize;
	__u64 ph_len = (__u64)eh->e_phnum * eh->e_phentsize;

	/* Compared by subtraction: offsets from the file may be near 2^64. */
	if (eh->e_phnum == 0 || eh->e_phoff == 0 || eh->e_phoff > size || ph_len > size - eh->e_phoff)
		return false;
	return eh->e_shoff == 0 || (eh->e_shoff <= size && sh_len <= size - eh->e_shoff);
}

int elf_find_funcs(const char *path, const char *const *names, size_t n, uint64_t *offsets)
{
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	struct stat st;
	Elf *elf = NULL;
	size_t i;
	int fd, err = 0;

	for (i = 0; i < n; i++)
		offsets[i] = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	/* O_NONBLOCK: a FIFO swapped in for the file must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	/* Read, not mmap: a file truncated while we parse it would raise SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    (eh.e_type != ET_DYN && eh.e_type != ET_EXEC) ||
	    gelf_getclass(elf) != ELFCLASS64 || eh.e_machine != NATIVE_MACHINE ||
	    !tables_in_file(&eh, (__u64)st.st_size)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	for (i = 0; i < 65536 && (scn = elf_nextscn(elf, scn)); i++) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB)
			scan_symtab(elf, scn, &sh, names, n, offsets);
	}
cleanup:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}
