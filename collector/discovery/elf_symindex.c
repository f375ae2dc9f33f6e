/* A hash index of one symbol table's defined functions: each table read once per file, every name then found at once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "elf_symindex.h"

/* Symbols of one table indexed at most (as the table scan reads at most). */
#define MAX_INDEXED	(1u << 24)

struct sym_slot {
	const char *name;	/* in the string table's data, NUL-terminated; NULL: empty */
	uint64_t value;
};

struct sym_index {
	struct sym_slot *slots;
	size_t mask;
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

	while (ix->slots[i].name && !same_name(ix->slots[i].name, name))
		i = (i + 1) & ix->mask;
	return &ix->slots[i];
}

/* The string table's bytes when its last one is a NUL (every name then
 * ends inside it), else NULL: names are then asked of libelf one by one. */
static const char *string_table(Elf *elf, size_t strndx, size_t *size)
{
	Elf_Scn *scn = elf_getscn(elf, strndx);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;

	if (!d || !d->d_buf || !d->d_size || ((const char *)d->d_buf)[d->d_size - 1] != '\0')
		return NULL;
	*size = d->d_size;
	return d->d_buf;
}

static const char *sym_name(Elf *elf, size_t strndx, const char *strs, size_t strsize,
			    size_t off)
{
	if (!strs)
		return elf_strptr(elf, strndx, off);
	return off < strsize ? strs + off : NULL;
}

int sym_index_build(struct sym_index **out, Elf *elf, Elf_Data *syms, size_t n, size_t strndx)
{
	const char *name, *strs;
	struct sym_index *ix;
	struct sym_slot *s;
	size_t i, cap = 16, strsize = 0;
	GElf_Sym sym;

	*out = NULL;
	if (n > MAX_INDEXED)
		n = MAX_INDEXED;
	while (cap < 2 * n)
		cap *= 2;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots) {
		free(ix);
		return -ENOMEM;
	}
	ix->mask = cap - 1;
	strs = string_table(elf, strndx, &strsize);
	for (i = 0; i < n; i++) {
		if (!gelf_getsym(syms, (int)i, &sym))
			break;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = sym_name(elf, strndx, strs, strsize, sym.st_name);
		/* C names only: the functions looked up are C, and most of a C++
		 * program's symbols (node's) are mangled ones, long to hash. */
		if (!name || !*name || (name[0] == '_' && name[1] == 'Z'))
			continue;
		/* The first symbol of a name wins, as in a scan of the table. */
		s = slot_of(ix, name, name_hash(name));
		if (!s->name)
			*s = (struct sym_slot){ .name = name, .value = sym.st_value };
	}
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
	free(ix->slots);
	free(ix);
}
