/* Reads Go's function table (pclntab) from hostile files: every offset checked against the bytes read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include "go_pclntab.h"

/*
 * The layouts relied on (Go's runtime/symtab.go pcHeader and _func,
 * cmd/link's pclntab writer; debug/gosym reads the same). All little-endian
 * here: tlstap only inspects programs of its own machine.
 *
 * The header begins with a 4-byte magic that names the layout, two zero
 * bytes, the minimum instruction size (1 on x86) and the pointer size (8):
 *   0xfffffffb  Go 1.2-1.15   then nfunc (ptr), and the function table
 *                             right after it, at 8 + ptrsize;
 *   0xfffffffa  Go 1.16-1.17  then 7 pointer-sized words: nfunc, nfiles,
 *                             and the offsets (from the header) of the
 *                             name table, the compilation unit table, the
 *                             file table, the pc tables, the function table;
 *   0xfffffff0  Go 1.18-1.19  8 words: nfunc, nfiles, textStart, then the
 *   0xfffffff1  Go 1.20+      same five offsets (1.20 changed no field we read).
 *
 * The function table is nfunc sorted pairs (entry, offset of the function's
 * _func record) and one more entry, the end of the last function; so a
 * function ends where the next one begins (Go pads between functions with
 * INT3, which holds no RET). Up to 1.17 both members are pointer-sized and
 * the entry is an address; from 1.18 both are 32-bit and the entry counts
 * from textStart. The _func offset counts from the header up to 1.15 and
 * from the function table after. A _func record starts with its entry (the
 * same value again: checked) and the offset of its name, a NUL-terminated
 * string, in the name table (from the header's start up to 1.15).
 */
#define MAGIC_12	0xfffffffbu
#define MAGIC_116	0xfffffffau
#define MAGIC_118	0xfffffff0u
#define MAGIC_120	0xfffffff1u
#define HDR_WORDS_116	7
#define HDR_WORDS_118	8

/* Real tables are tens of MB at most (a 150 MB Kubernetes binary: 45 MB). */
#define PCLNTAB_MAX	(128u << 20)
/* Scan steps when looking for the header without section headers. */
#define SCAN_CHUNK	(1u << 20)
#define SCAN_MAX	(256ull << 20)
#define SCAN_TRIES	4
/* Go programs have 3 to 6 loaded segments. */
#define SCAN_SEGMENTS	64

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Whether [off, off + len) lies in a table of size bytes (no overflow). */
static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static enum go_pcln_layout magic_layout(const uint8_t *p)
{
	/* Two zero bytes, 1-byte instructions (x86), 8-byte pointers. */
	if (p[4] || p[5] || p[6] != 1 || p[7] != 8)
		return 0;
	switch (rd32(p)) {
	case MAGIC_12: return GO_PCLN_12;
	case MAGIC_116: return GO_PCLN_116;
	case MAGIC_118: return GO_PCLN_118;
	case MAGIC_120: return GO_PCLN_120;
	}
	return 0;
}

/* Entry and _func record of a table row, by layout. */
static uint64_t row_size(const struct go_pclntab *t)
{
	return t->layout >= GO_PCLN_118 ? 8 : 16;
}

static uint64_t row_entry(const struct go_pclntab *t, uint64_t i)
{
	const uint8_t *p = t->data + t->functab + i * row_size(t);

	return t->layout >= GO_PCLN_118 ? t->text_start + rd32(p) : rd64(p);
}

/* The offset in data of row i's _func record. */
static uint64_t row_func(const struct go_pclntab *t, uint64_t i)
{
	const uint8_t *p = t->data + t->functab + i * row_size(t);

	if (t->layout >= GO_PCLN_118)
		return t->functab + rd32(p + 4);
	return (t->layout == GO_PCLN_12 ? 0 : t->functab) + rd64(p + 8);
}

/* Checks the header of the table in t->data and sets the offsets. */
static int parse_header(struct go_pclntab *t, uint64_t text_addr)
{
	uint64_t w[HDR_WORDS_118];
	const uint8_t *h = t->data;
	int nwords, i;

	if (t->len < 16 || !(t->layout = magic_layout(h)))
		return -EINVAL;
	nwords = t->layout == GO_PCLN_12 ? 1 : t->layout == GO_PCLN_116 ? HDR_WORDS_116 : HDR_WORDS_118;
	if (!fits(8, (uint64_t)nwords * 8, t->len))
		return -EINVAL;
	for (i = 0; i < nwords; i++)
		w[i] = rd64(h + 8 + 8 * i);
	t->nfunc = w[0];
	if (t->layout == GO_PCLN_12) {
		t->funcnames = 0;
		t->functab = 16;
	} else if (t->layout == GO_PCLN_116) {
		t->funcnames = w[2];
		t->functab = w[6];
	} else {
		/*
		 * textStart is an address the dynamic linker relocates in a
		 * PIE; Go's own linker also writes its value in the file, an
		 * external one may leave 0: then .text's address, where
		 * runtime.text lies in Go's layout.
		 */
		t->text_start = w[2] ? w[2] : text_addr;
		t->funcnames = w[3];
		t->functab = w[7];
	}
	/* The rows and the end entry after them (half a row) must lie in the table. */
	if (!t->nfunc || t->nfunc > t->len / row_size(t) || t->funcnames >= t->len ||
	    !fits(t->functab, t->nfunc * row_size(t) + row_size(t) / 2, t->len))
		return -EINVAL;
	return 0;
}

/* Reads len bytes at off as the table and checks it. */
static int load(struct elf_image *img, struct go_pclntab *t, uint64_t off, uint64_t len,
		uint64_t text_addr)
{
	int err;

	if (len > PCLNTAB_MAX)
		len = PCLNTAB_MAX;
	t->data = malloc(len ? len : 1);
	if (!t->data)
		return -ENOMEM;
	t->len = len;
	err = elf_image_pread(img, off, t->data, len);
	if (!err)
		err = parse_header(t, text_addr);
	if (err) {
		go_pclntab_close(t);
		return err == -ENOMEM ? err : -EINVAL;
	}
	return 0;
}

/* Whether a scan goes on after a try that gave err. */
static bool looking(int err)
{
	return err == -ENOENT || err == -EINVAL;
}

/*
 * No section of its own: the table by its header's magic, 8-aligned, in a
 * segment that is not code, running to the segment's end at most. A match
 * that is no table is passed over. -ENOENT when there is none, -EINVAL when
 * only malformed ones; bounded by SCAN_MAX bytes read in all.
 */
static int scan_segments(struct elf_image *img, struct go_pclntab *t, uint64_t text_addr)
{
	struct elf_segment seg;
	uint64_t pos, scanned = 0, n, k, at;
	uint8_t *buf = malloc(SCAN_CHUNK);
	size_t i;
	int err = -ENOENT, tries = 0;

	if (!buf)
		return -ENOMEM;
	for (i = 0; looking(err) && i < SCAN_SEGMENTS && !elf_image_segment(img, i, &seg); i++) {
		if (seg.flags & PF_X)
			continue;
		for (pos = 0; looking(err) && pos + 8 <= seg.filesz && scanned < SCAN_MAX; pos += n) {
			n = seg.filesz - pos < SCAN_CHUNK ? seg.filesz - pos : SCAN_CHUNK;
			scanned += n;
			if (elf_image_pread(img, seg.offset + pos, buf, (size_t)n))
				break;
			for (k = (8 - (seg.offset + pos) % 8) % 8; looking(err) && k + 8 <= n; k += 8) {
				if (!magic_layout(buf + k))
					continue;
				/* Each try reads up to a table: a few, not one per forged header. */
				if (++tries > SCAN_TRIES)
					goto out;
				at = seg.offset + pos + k;
				err = load(img, t, at, seg.filesz - pos - k, text_addr);
			}
		}
	}
out:
	free(buf);
	return err;
}

int go_pclntab_open(struct elf_image *img, struct go_pclntab *t)
{
	struct elf_segment sec, text = {};

	memset(t, 0, sizeof(*t));
	elf_image_section(img, ".text", &text);
	/* Go's linker names it .data.rel.ro.gopclntab in a PIE. */
	if (!elf_image_section(img, ".gopclntab", &sec) ||
	    !elf_image_section(img, ".data.rel.ro.gopclntab", &sec))
		return load(img, t, sec.offset, sec.filesz, text.vaddr);
	/*
	 * An external linker (cgo, distributions' PIE builds) merges the table
	 * into .data.rel.ro; a file without section headers has none: then
	 * scan, but only where the file says it is Go, not in every C
	 * program's data.
	 */
	if (text.filesz && elf_image_section(img, ".go.buildinfo", &sec) &&
	    elf_image_section(img, ".note.go.buildid", &sec))
		return -ENOENT;
	return scan_segments(img, t, text.vaddr);
}

/* Whether the NUL-terminated name at offset at of the table is name. */
static bool name_is(const struct go_pclntab *t, uint64_t at, const char *name, size_t nlen)
{
	return fits(at, nlen + 1, t->len) && !memcmp(t->data + at, name, nlen) && !t->data[at + nlen];
}

int go_pclntab_func(const struct go_pclntab *t, const char *name, uint64_t *entry, uint64_t *end)
{
	size_t nlen = strlen(name);
	uint64_t i, f, fentry, name_at;
	int64_t nameoff;
	int wide = t->layout >= GO_PCLN_118 ? 4 : 8;

	for (i = 0; i < t->nfunc; i++) {
		f = row_func(t, i);
		if (!fits(f, (uint64_t)wide + 4, t->len))
			continue;
		nameoff = (int32_t)rd32(t->data + f + wide);
		name_at = t->funcnames + (uint64_t)nameoff;
		if (nameoff < 0 || !name_is(t, name_at, name, nlen))
			continue;
		/* Found: the record must agree with its row, and end after it begins. */
		*entry = row_entry(t, i);
		*end = row_entry(t, i + 1);
		fentry = wide == 4 ? t->text_start + rd32(t->data + f) : rd64(t->data + f);
		if (fentry != *entry || *end <= *entry)
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}

void go_pclntab_close(struct go_pclntab *t)
{
	free(t->data);
	t->data = NULL;
	t->len = 0;
}
