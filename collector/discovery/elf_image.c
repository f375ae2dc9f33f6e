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
#include "elf_symindex.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE	EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE	EM_AARCH64
#endif

#define MAX_ENTRIES	(1u << 24)
#define MAX_SECTIONS	65536
#define MAX_PHDRS	4096
/*
 * What one file may make us read. Real files need far less: node 20, a
 * 99 MB executable, has a 47 MB .rodata (searched for OpenSSL's version
 * string), a 7.5 MB .strtab and a 2.6 MB .symtab. A larger section, or one
 * past the file's end, is treated as absent rather than read: a sparse file
 * can claim a 1 GiB .symtab that costs nothing to make and seconds to read.
 */
#define MAX_SECTION_BYTES	(128ull << 20)
#define MAX_IMAGE_BYTES		(256ull << 20)

struct elf_image {
	int fd;
	bool own_fd;
	Elf *elf;
	uint64_t size;		/* of the file, from fstat */
	size_t nsections;
	uint8_t *loaded;	/* bit per section: its data was read (and counted) */
	uint64_t bytes;		/* section bytes read so far, at most MAX_IMAGE_BYTES */
	unsigned int refused;	/* sections not read: too large or outside the file */
	/* .dynsym's and .symtab's functions by name, built at first use. */
	struct sym_index *index[2];
	bool index_tried[2];
};

/* A range of the file, compared by subtraction: offsets may be near 2^64. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/*
 * Checks the ELF header and where its tables lie with our own reads, before
 * libelf sees the file: libelf allocates for every section the header
 * claims (up to 2^32 with extended numbering) and reports a truncated file
 * as one without sections rather than as an error.
 */
static int check_headers(int fd, uint64_t size)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh0;
	uint64_t shnum;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return -ENOEXEC;
	/* Probes read arguments in this machine's calling convention. */
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != NATIVE_MACHINE ||
	    (eh.e_type != ET_DYN && eh.e_type != ET_EXEC))
		return -ENOEXEC;
	if (eh.e_phoff == 0 || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), size))
		return -ENOEXEC;
	if (eh.e_shoff == 0)
		return 0;
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || !in_file(eh.e_shoff, sizeof(sh0), size))
		return -ENOEXEC;
	shnum = eh.e_shnum;
	if (shnum == 0 || eh.e_shstrndx == SHN_XINDEX) {
		/* Extended numbering: the real values are in section 0. */
		if (pread(fd, &sh0, sizeof(sh0), (off_t)eh.e_shoff) != (ssize_t)sizeof(sh0))
			return -ENOEXEC;
		if (shnum == 0)
			shnum = sh0.sh_size;
	}
	if (shnum > MAX_SECTIONS || !in_file(eh.e_shoff, shnum * sizeof(Elf64_Shdr), size))
		return -ENOEXEC;
	return 0;
}

static int image_begin(struct elf_image *img)
{
	struct stat st;
	GElf_Ehdr eh;
	int err;

	if (fstat(img->fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	img->size = (uint64_t)st.st_size;
	err = check_headers(img->fd, img->size);
	if (err)
		return err;
	/* Read, not mmap: a file truncated while we parse it would raise SIGBUS. */
	img->elf = elf_begin(img->fd, ELF_C_READ, NULL);
	if (!img->elf || elf_kind(img->elf) != ELF_K_ELF || !gelf_getehdr(img->elf, &eh) ||
	    elf_getshdrnum(img->elf, &img->nsections) || img->nsections > MAX_SECTIONS)
		return -ENOEXEC;
	img->loaded = calloc(img->nsections / 8 + 1, 1);
	return img->loaded ? 0 : -ENOMEM;
}

int elf_image_open_fd(struct elf_image **out, int fd)
{
	struct elf_image *img;
	int err;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->fd = fd;
	err = image_begin(img);
	if (err) {
		elf_image_close(img);
		return err;
	}
	*out = img;
	return 0;
}

int elf_image_open(struct elf_image **out, const char *path)
{
	int fd, err;

	*out = NULL;
	/* O_NONBLOCK: a FIFO swapped in for the file must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = elf_image_open_fd(out, fd);
	if (err) {
		close(fd);
		return err;
	}
	(*out)->own_fd = true;
	return 0;
}

unsigned int elf_image_refused(const struct elf_image *img)
{
	return img->refused;
}

int elf_image_charge(struct elf_image *img, uint64_t len)
{
	if (len > MAX_IMAGE_BYTES - img->bytes)
		return -EFBIG;
	img->bytes += len;
	return 0;
}

uint64_t elf_image_charged(const struct elf_image *img)
{
	return img->bytes;
}

void elf_image_close(struct elf_image *img)
{
	if (!img)
		return;
	if (img->elf)
		elf_end(img->elf);
	if (img->own_fd)
		close(img->fd);
	sym_index_free(img->index[0]);
	sym_index_free(img->index[1]);
	free(img->loaded);
	free(img);
}

/*
 * Whether section scn (header sh) may be read: inside the file and within
 * the caps; each section's bytes count once against the file's budget.
 */
static bool may_read(struct elf_image *img, Elf_Scn *scn, const GElf_Shdr *sh)
{
	size_t idx = elf_ndxscn(scn);

	if (idx == SHN_UNDEF || idx >= img->nsections || sh->sh_type == SHT_NOBITS)
		return false;
	if (!(img->loaded[idx / 8] & (1u << (idx % 8)))) {
		if (!in_file(sh->sh_offset, sh->sh_size, img->size) ||
		    sh->sh_size > MAX_SECTION_BYTES || sh->sh_size > MAX_IMAGE_BYTES - img->bytes) {
			img->refused++;
			return false;
		}
		img->loaded[idx / 8] |= (uint8_t)(1u << (idx % 8));
		img->bytes += sh->sh_size;
	}
	return true;
}

/*
 * The data of a section, read only when it lies inside the file and within
 * the caps; each section's bytes count once against the file's budget.
 * NULL for a section that holds no bytes (SHT_NOBITS) or is refused.
 */
static Elf_Data *section_data(struct elf_image *img, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data;

	if (!may_read(img, scn, sh))
		return NULL;
	data = elf_getdata(scn, NULL);
	if (!data || (data->d_size && !data->d_buf))
		return NULL;
	return data;
}

/* Whether section strndx is a string table we may read: then elf_strptr()
 * on it reads nothing more (libelf would otherwise read it whole). */
static bool strtab_ok(struct elf_image *img, size_t strndx)
{
	Elf_Scn *scn = elf_getscn(img->elf, strndx);
	GElf_Shdr sh;

	return scn && gelf_getshdr(scn, &sh) && sh.sh_type == SHT_STRTAB && section_data(img, scn, &sh);
}

static Elf_Scn *find_section(struct elf_image *img, Elf64_Word type, const char *name,
			     GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, i;
	const char *sname;

	if (name && (elf_getshdrstrndx(img->elf, &shstrndx) || !strtab_ok(img, shstrndx)))
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

/* The index of table type (.dynsym or .symtab), built at its first use; NULL if none. */
static struct sym_index *table_index(struct elf_image *img, Elf64_Word type)
{
	int k = type == SHT_DYNSYM ? 0 : 1;
	GElf_Shdr sh, strsh;
	Elf_Scn *scn, *strscn;

	if (img->index_tried[k])
		return img->index[k];
	img->index_tried[k] = true;
	/* Read by the index itself (not libelf): it keeps the bytes. */
	scn = find_section(img, type, NULL, &sh);
	if (!scn || sh.sh_entsize != sizeof(Elf64_Sym) || !(strscn = elf_getscn(img->elf, sh.sh_link)) ||
	    !gelf_getshdr(strscn, &strsh) || strsh.sh_type != SHT_STRTAB ||
	    !may_read(img, scn, &sh) || !may_read(img, strscn, &strsh))
		return NULL;
	sym_index_build(&img->index[k], img->fd, sh.sh_offset, sh.sh_size, strsh.sh_offset,
			strsh.sh_size);
	return img->index[k];
}

static int func_in(struct elf_image *img, Elf64_Word type, const char *name, uint64_t *vaddr)
{
	struct sym_index *ix = table_index(img, type);

	return ix ? sym_index_find(ix, name, vaddr) : -ENOENT;
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

/* Program header i as a segment: 1 when it is a PT_LOAD with its bytes inside
 * the file, 0 when it is another, -1 past the end or when unreadable. */
static int load_segment(struct elf_image *img, size_t i, struct elf_segment *seg)
{
	size_t nphdr;
	GElf_Phdr ph;

	if (i >= MAX_PHDRS || elf_getphdrnum(img->elf, &nphdr) || i >= nphdr ||
	    !gelf_getphdr(img->elf, (int)i, &ph))
		return -1;
	if (ph.p_type != PT_LOAD || !in_file(ph.p_offset, ph.p_filesz, img->size))
		return 0;
	seg->vaddr = ph.p_vaddr;
	seg->offset = ph.p_offset;
	seg->filesz = ph.p_filesz;
	seg->flags = ph.p_flags;
	return 1;
}

int elf_image_segment(struct elf_image *img, size_t n, struct elf_segment *seg)
{
	size_t i;
	int r;

	for (i = 0; (r = load_segment(img, i, seg)) >= 0; i++)
		if (r && !n--)
			return 0;
	return -ENOENT;
}

/* The offset of len bytes at vaddr in one PT_LOAD segment's file bytes
 * (executable ones only when exec); 0 if none. */
static uint64_t segment_offset(struct elf_image *img, uint64_t vaddr, uint64_t len, bool exec)
{
	struct elf_segment seg;
	size_t i;
	int r;

	for (i = 0; (r = load_segment(img, i, &seg)) >= 0; i++) {
		if (r && (!exec || (seg.flags & PF_X)) && vaddr >= seg.vaddr &&
		    vaddr - seg.vaddr < seg.filesz && len <= seg.filesz - (vaddr - seg.vaddr))
			return vaddr - seg.vaddr + seg.offset;
	}
	return 0;
}

uint64_t elf_image_offset(struct elf_image *img, uint64_t vaddr)
{
	return segment_offset(img, vaddr, 1, true);
}

int elf_image_data_offset(struct elf_image *img, uint64_t vaddr, uint64_t len, uint64_t *off)
{
	*off = segment_offset(img, vaddr, len, false);
	return *off ? 0 : -ENOENT;
}

int elf_image_pread(struct elf_image *img, uint64_t off, void *buf, size_t len)
{
	ssize_t n;

	if (!in_file(off, len, img->size))
		return -EINVAL;
	n = pread(img->fd, buf, len, (off_t)off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int elf_image_section(struct elf_image *img, const char *name, struct elf_segment *sec)
{
	GElf_Shdr sh;

	if (!find_section(img, 0, name, &sh) || sh.sh_type == SHT_NOBITS ||
	    !in_file(sh.sh_offset, sh.sh_size, img->size))
		return -ENOENT;
	sec->vaddr = sh.sh_addr;
	sec->offset = sh.sh_offset;
	sec->filesz = sh.sh_size;
	sec->flags = 0;
	return 0;
}

int elf_image_read(struct elf_image *img, uint64_t vaddr, uint8_t *buf, size_t len)
{
	uint64_t off = elf_image_offset(img, vaddr);
	ssize_t n;

	if (!off)
		return -ENOENT;
	if (off >= img->size)
		return 0;
	if (len > img->size - off)
		len = (size_t)(img->size - off);
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

	if (!scn || !(data = section_data(img, scn, &sh)) || !strtab_ok(img, sh.sh_link))
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

/* Bytes of .rodata read at a time: node's is 47 MB, and reading it into
 * one fresh buffer costs more in page faults than the search. */
#define SCAN_CHUNK	(1u << 20)

/*
 * Whether the match of the prefix at p (read up to win_end; at_start: it
 * begins the section) is a whole string, shorter than outlen, that accept()
 * takes: then it is copied to out.
 */
static bool take_string(const char *p, const char *win_end, bool at_start,
			bool (*accept)(const char *s), char *out, size_t outlen)
{
	size_t n = strnlen(p, (size_t)(win_end - p));

	/* A whole string: it starts the section or follows a NUL. */
	if (!(at_start || p[-1] == '\0') || n >= (size_t)(win_end - p) || n >= outlen)
		return false;
	if (accept && !accept(p))
		return false;
	memcpy(out, p, n + 1);
	return true;
}

int elf_image_find_string(struct elf_image *img, const char *prefix, bool (*accept)(const char *s),
			  char *out, size_t outlen)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(img, 0, ".rodata", &sh);
	size_t plen = strlen(prefix), len, back;
	uint64_t off;
	char *buf = NULL, *p, *end, *from;
	int err = -ENOENT;
	ssize_t got;

	/* Read in pieces, under the same caps as a section read whole. */
	if (!scn || !outlen || !plen || (sh.sh_flags & SHF_COMPRESSED) || !may_read(img, scn, &sh))
		return -ENOENT;
	buf = malloc(1 + SCAN_CHUNK + outlen);
	if (!buf)
		return -ENOMEM;
	/*
	 * Window k holds the byte before offset k * SCAN_CHUNK (for the NUL
	 * test), the chunk in which matches may start, and outlen bytes more
	 * in which a string that begins there must end.
	 */
	for (off = 0; off < sh.sh_size && err == -ENOENT; off += SCAN_CHUNK) {
		back = off ? 1 : 0;
		len = (size_t)(sh.sh_size - off + back);
		if (len > back + SCAN_CHUNK + outlen)
			len = back + SCAN_CHUNK + outlen;
		got = pread(img->fd, buf, len, (off_t)(sh.sh_offset + off - back));
		if (got != (ssize_t)len)
			break;
		from = buf + back;
		end = buf + len;
		/* Matches that start in this chunk only: each offset is searched once. */
		while (from < buf + back + SCAN_CHUNK && from + plen <= end) {
			p = memmem(from, (size_t)(end - from), prefix, plen);
			if (!p || p >= buf + back + SCAN_CHUNK)
				break;
			if (take_string(p, end, off == 0 && p == buf, accept, out, outlen)) {
				err = 0;
				break;
			}
			from = p + plen;
		}
	}
	free(buf);
	return err;
}

static int slot_in(struct elf_image *img, Elf_Scn *scn, const GElf_Shdr *sh, uint64_t slot,
		   char *name, size_t len)
{
	Elf_Data *data = section_data(img, scn, sh);
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
	if (!symscn || !gelf_getshdr(symscn, &symsh) ||
	    (symsh.sh_type != SHT_DYNSYM && symsh.sh_type != SHT_SYMTAB) ||
	    !(symdata = section_data(img, symscn, &symsh)) || !strtab_ok(img, symsh.sh_link))
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
