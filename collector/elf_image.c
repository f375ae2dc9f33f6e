/* ELF access for probe placement, with libelf; every table walk is bounded. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "elf_image.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE	EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE	EM_AARCH64
#endif

#define MAX_ENTRIES	(1u << 24)
#define MAX_SECTIONS	65536

struct elf_image {
	int fd;
	Elf *elf;
};

/*
 * A truncated file keeps a valid header whose tables lie past its end;
 * libelf then reports no sections rather than an error.
 */
static bool tables_in_file(const GElf_Ehdr *eh, uint64_t size)
{
	uint64_t sh_len = (uint64_t)eh->e_shnum * eh->e_shentsize;
	uint64_t ph_len = (uint64_t)eh->e_phnum * eh->e_phentsize;

	/* Compared by subtraction: offsets from the file may be near 2^64. */
	if (eh->e_phnum == 0 || eh->e_phoff == 0 || eh->e_phoff > size || ph_len > size - eh->e_phoff)
		return false;
	return eh->e_shoff == 0 || (eh->e_shoff <= size && sh_len <= size - eh->e_shoff);
}

int elf_image_open(struct elf_image **out, const char *path)
{
	struct elf_image *img;
	struct stat st;
	GElf_Ehdr eh;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	/* O_NONBLOCK: a FIFO swapped in for the file must not hang us. */
	img->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (img->fd < 0) {
		free(img);
		return -errno;
	}
	if (fstat(img->fd, &st) || !S_ISREG(st.st_mode))
		goto not_elf;
	/* Read, not mmap: a file truncated while we parse it would raise SIGBUS. */
	img->elf = elf_begin(img->fd, ELF_C_READ, NULL);
	/* Probes read arguments in this machine's calling convention. */
	if (!img->elf || elf_kind(img->elf) != ELF_K_ELF || !gelf_getehdr(img->elf, &eh) ||
	    (eh.e_type != ET_DYN && eh.e_type != ET_EXEC) ||
	    gelf_getclass(img->elf) != ELFCLASS64 || eh.e_machine != NATIVE_MACHINE ||
	    !tables_in_file(&eh, (uint64_t)st.st_size))
		goto not_elf;
	*out = img;
	return 0;
not_elf:
	elf_image_close(img);
	return -ENOEXEC;
}

void elf_image_close(struct elf_image *img)
{
	if (!img)
		return;
	if (img->elf)
		elf_end(img->elf);
	if (img->fd >= 0)
		close(img->fd);
	free(img);
}

/* "SSL_read" matches "SSL_read" and "SSL_read@@OPENSSL_3.0.0". */
static bool name_matches(const char *symname, const char *want)
{
	size_t len = strlen(want);

	return !strncmp(symname, want, len) && (symname[len] == '\0' || symname[len] == '@');
}

static Elf_Scn *find_section(struct elf_image *img, Elf64_Word type, const char *name,
			     GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, i;
	const char *sname;

	if (elf_getshdrstrndx(img->elf, &shstrndx))
		return NULL;
	for (i = 0; i < MAX_SECTIONS && (scn = elf_nextscn(img->elf, scn)); i++) {
		if (!gelf_getshdr(scn, sh) || (type && sh->sh_type != type))
			continue;
		if (name) {
			sname = elf_strptr(img->elf, shstrndx, sh->sh_name);
			if (!sname || strcmp(sname, name))
				continue;
		}
		return scn;
	}
	return NULL;
}

static int func_in(struct elf_image *img, Elf64_Word type, const char *name, uint64_t *vaddr)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(img, type, NULL, &sh);
	Elf_Data *data;
	GElf_Sym sym;
	const char *sname;
	size_t n, i;

	if (!scn || !(data = elf_getdata(scn, NULL)) || !sh.sh_entsize)
		return -ENOENT;
	n = sh.sh_size / sh.sh_entsize;
	for (i = 0; i < n && i < MAX_ENTRIES; i++) {
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		sname = elf_strptr(img->elf, sh.sh_link, sym.st_name);
		if (sname && name_matches(sname, name)) {
			*vaddr = sym.st_value;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_image_func(struct elf_image *img, const char *name, uint64_t *vaddr)
{
	if (!func_in(img, SHT_DYNSYM, name, vaddr))
		return 0;
	return func_in(img, SHT_SYMTAB, name, vaddr);
}

void elf_image_funcs(struct elf_image *img, const char *const *names, size_t n, uint64_t *offsets)
{
	uint64_t vaddr;
	size_t i;

	for (i = 0; i < n; i++)
		offsets[i] = elf_image_func(img, names[i], &vaddr) ? 0 : elf_image_offset(img, vaddr);
}

uint64_t elf_image_offset(struct elf_image *img, uint64_t vaddr)
{
	size_t i, nphdr;
	GElf_Phdr ph;

	if (elf_getphdrnum(img->elf, &nphdr))
		return 0;
	for (i = 0; i < nphdr && i < 4096; i++) {
		if (!gelf_getphdr(img->elf, (int)i, &ph))
			return 0;
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && vaddr >= ph.p_vaddr &&
		    vaddr - ph.p_vaddr < ph.p_filesz)
			return vaddr - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

int elf_image_read(struct elf_image *img, uint64_t vaddr, uint8_t *buf, size_t len)
{
	uint64_t off = elf_image_offset(img, vaddr);
	ssize_t n;

	if (!off)
		return -ENOENT;
	n = pread(img->fd, buf, len, (off_t)off);
	return n < 0 ? -errno : (int)n;
}

bool elf_image_has_verdef(struct elf_image *img, const char *name)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(img, SHT_GNU_verdef, NULL, &sh);
	Elf_Data *data;
	GElf_Verdef vd;
	GElf_Verdaux va;
	size_t off = 0, i;
	const char *vname;

	if (!scn || !(data = elf_getdata(scn, NULL)))
		return false;
	for (i = 0; i < 4096; i++) {
		if (!gelf_getverdef(data, (int)off, &vd))
			return false;
		if (gelf_getverdaux(data, (int)(off + vd.vd_aux), &va)) {
			vname = elf_strptr(img->elf, sh.sh_link, va.vda_name);
			if (vname && !strcmp(vname, name))
				return true;
		}
		if (!vd.vd_next || off + vd.vd_next >= data->d_size)
			return false;
		off += vd.vd_next;
	}
	return false;
}

int elf_image_find_string(struct elf_image *img, const char *prefix, bool (*accept)(const char *s),
			  char *out, size_t outlen)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(img, 0, ".rodata", &sh);
	Elf_Data *data;
	const char *p, *end;
	size_t plen = strlen(prefix), n;

	if (!scn || !(data = elf_getdata(scn, NULL)) || !data->d_buf || !outlen)
		return -ENOENT;
	p = data->d_buf;
	end = p + data->d_size;
	while (p + plen <= end) {
		p = memmem(p, (size_t)(end - p), prefix, plen);
		if (!p)
			break;
		n = strnlen(p, (size_t)(end - p));
		/* A whole string: it starts the section or follows a NUL. */
		if ((p == (const char *)data->d_buf || p[-1] == '\0') && n < (size_t)(end - p) &&
		    n < outlen && (!accept || accept(p))) {
			memcpy(out, p, n + 1);
			return 0;
		}
		p += plen;
	}
	return -ENOENT;
}

static int slot_in(struct elf_image *img, Elf_Scn *scn, const GElf_Shdr *sh, uint64_t slot,
		   char *name, size_t len)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	Elf_Scn *symscn;
	Elf_Data *symdata;
	GElf_Shdr symsh;
	GElf_Rela rela;
	GElf_Sym sym;
	const char *sname;
	size_t n, i;

	if (!data || !sh->sh_entsize)
		return -ENOENT;
	symscn = elf_getscn(img->elf, sh->sh_link);
	if (!symscn || !gelf_getshdr(symscn, &symsh) || !(symdata = elf_getdata(symscn, NULL)))
		return -ENOENT;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n && i < MAX_ENTRIES; i++) {
		if (!gelf_getrela(data, (int)i, &rela))
			break;
		if (rela.r_offset != slot)
			continue;
		if (!gelf_getsym(symdata, (int)GELF_R_SYM(rela.r_info), &sym))
			return -ENOENT;
		sname = elf_strptr(img->elf, symsh.sh_link, sym.st_name);
		if (!sname || strlen(sname) >= len)
			return -ENOENT;
		strcpy(name, sname);
		return 0;
	}
	return -ENOENT;
}

int elf_image_slot_symbol(struct elf_image *img, uint64_t slot, char *name, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t i;

	for (i = 0; i < MAX_SECTIONS && (scn = elf_nextscn(img->elf, scn)); i++) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA)
			continue;
		if (!slot_in(img, scn, &sh, slot, name, len))
			return 0;
	}
	return -ENOENT;
}
