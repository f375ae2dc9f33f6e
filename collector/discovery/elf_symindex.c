/* A hash index of one symbol table's defined C functions: the table read once per file, every name then found at once. */
#include <errno.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "elf_symindex.h"

#define HUGE_PAGE	(2u << 20)
/*
 * Longest name indexed: every name looked up is a short C name, and a hostile
 * file could otherwise point its symbols at one name of megabytes, hashed and
 * compared once per symbol (1.5 MB of file kept the collector busy 34 s).
 */
#define SYM_NAME_MAX	256

struct sym_slot {
	uint32_t name;		/* offset in strs; 0: empty (a name never starts there) */
	uint32_t pad;
	uint64_t value;
};

struct sym_index {
	/* One mapping: the slots, then the symbols and their strings as read. */
	void *mem;
	size_t mem_size;
	struct sym_slot *slots;
	size_t mask;
	const char *strs;
	size_t strsize;
};

/* FNV-1a of a name up to its version suffix ("SSL_read@@OPENSSL_3.0.0" as "SSL_read"). */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s && *s != '@'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Names equal up to their version suffixes: "SSL_read" is "SSL_read@@OPENSSL_3.0.0". */
static bool same_name(const char *a, const char *b)
{
	for (; *a && *a != '@' && *a == *b; a++, b++)
		;
	return (*a == '\0' || *a == '@') && (*b == '\0' || *b == '@');
}

/* The slot of name, or the empty slot where it would go. */
static struct sym_slot *slot_of(const struct sym_index *ix, const char *name, uint64_t h)
{
	size_t i = (size_t)h & ix->mask;

	while (ix->slots[i].name && !same_name(ix->strs + ix->slots[i].name, name))
		i = (i + 1) & ix->mask;
	return &ix->slots[i];
}

/*
 * Memory for the tables of a large executable (node's are 17 MB): in huge
 * pages where the kernel allows, as a page fault per 4 KiB costs more than
 * reading the tables (16 us each on some virtual machines).
 */
static void *table_memory(size_t size, size_t *mapped)
{
	void *p;

	*mapped = (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	p = mmap(NULL, *mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, *mapped, MADV_HUGEPAGE);
	return p;
}

static bool read_all(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* Every defined C function of syms into the slots, the first of each name kept. */
static void index_syms(struct sym_index *ix, const Elf64_Sym *syms, size_t n)
{
	struct sym_slot *s;
	const char *name;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ELF64_ST_TYPE(syms[i].st_info) != STT_FUNC || syms[i].st_shndx == SHN_UNDEF ||
		    !syms[i].st_value || syms[i].st_name == 0 || syms[i].st_name >= ix->strsize)
			continue;
		name = ix->strs + syms[i].st_name;
		if (!memchr(name, '\0', ix->strsize - syms[i].st_name < SYM_NAME_MAX + 1 ?
					 ix->strsize - syms[i].st_name : SYM_NAME_MAX + 1))
			continue;
		/* C names only: the functions looked up are C, and most of a C++
		 * program's symbols (node's) are mangled ones, long to hash. */
		if (!*name || (name[0] == '_' && name[1] == 'Z'))
			continue;
		s = slot_of(ix, name, name_hash(name));
		if (!s->name)
			*s = (struct sym_slot){ .name = syms[i].st_name, .value = syms[i].st_value };
	}
}

int sym_index_build(struct sym_index **out, int fd, uint64_t symoff, uint64_t symsize,
		    uint64_t stroff, uint64_t strsize)
{
	size_t n = symsize / sizeof(Elf64_Sym), cap = 16, slots_size;
	struct sym_index *ix;
	char *strs;

	*out = NULL;
	if (strsize == 0 || strsize > UINT32_MAX || n > (1u << 24))
		return -EINVAL;
	while (cap < 2 * n)
		cap *= 2;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	slots_size = cap * sizeof(struct sym_slot);
	ix->mem = table_memory(slots_size + n * sizeof(Elf64_Sym) + strsize, &ix->mem_size);
	if (!ix->mem) {
		free(ix);
		return -ENOMEM;
	}
	ix->slots = ix->mem;
	ix->mask = cap - 1;
	strs = (char *)ix->mem + slots_size + n * sizeof(Elf64_Sym);
	if (!read_all(fd, (char *)ix->mem + slots_size, n * sizeof(Elf64_Sym), symoff) ||
	    !read_all(fd, strs, strsize, stroff)) {
		sym_index_free(ix);
		return -EIO;
	}
	/* Every name ends inside the table, whatever the file says. */
	strs[strsize - 1] = '\0';
	ix->strs = strs;
	ix->strsize = strsize;
	index_syms(ix, (const Elf64_Sym *)((char *)ix->mem + slots_size), n);
	*out = ix;
	return 0;
}

int sym_index_find(const struct sym_index *ix, const char *name, uint64_t *vaddr)
{
	const struct sym_slot *s = slot_of(ix, name, name_hash(name));

	if (!s->name)
		return -ENOENT;
	*vaddr = s->value;
	return 0;
}

void sym_index_free(struct sym_index *ix)
{
	if (!ix)
		return;
	munmap(ix->mem, ix->mem_size);
	free(ix);
}
