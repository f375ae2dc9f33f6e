/* Reads Go's function table (pclntab) from hostile files: every offset checked against the bytes read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include "go_pclntab.h"
#include "go_reloc.h"

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
 * string, in the name table (from the header's start up to 1.15). From
 * 1.16 the parts follow each other in the header's order: names, compilation
 * units, files, pc tables, function table; the names end where the
 * compilation units begin.
 *
 * Nothing is read whole: a forged header can claim any size for free (a
 * sparse file). The header is checked first, then a lookup walks the rows,
 * the _func records and the names through windows of WIN bytes, each read
 * counted against the image's budget.
 */
#define MAGIC_12	0xfffffffbu
#define MAGIC_116	0xfffffffau
#define MAGIC_118	0xfffffff0u
#define MAGIC_120	0xfffffff1u
#define HDR_WORDS_116	7
#define HDR_WORDS_118	8

/* Real tables are tens of MB at most (a 150 MB Kubernetes binary: 45 MB). */
#define PCLNTAB_MAX	(128u << 20)
/*
 * Functions in a table: a 150 MB Kubernetes binary has 150k; each is a row
 * a lookup reads and compares, so a forged count bounds the work.
 */
#define MAX_FUNCS	(1u << 21)
/* Scan steps when looking for the header without section headers. */
#define SCAN_CHUNK	(1u << 20)
#define SCAN_MAX	(128ull << 20)
#define SCAN_TRIES	4
/* Go programs have 3 to 6 loaded segments. */
#define SCAN_SEGMENTS	64
/* Bytes read at a time by a lookup, in each of the three places it reads. */
#define WIN		(64u << 10)
#define HDR_LEN		(8 + 8 * HDR_WORDS_118)
/* Where runtime.text's address is in a 1.18+ header: after magic, nfunc, nfiles. */
#define TEXT_START_AT	24

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

static uint64_t row_size(const struct go_pclntab *t)
{
	return t->layout >= GO_PCLN_118 ? 8 : 16;
}

/* The entry address in a row (or the end entry after the last). */
static uint64_t row_entry(const struct go_pclntab *t, const uint8_t *row)
{
	return t->layout >= GO_PCLN_118 ? t->text_start + rd32(row) : rd64(row);
}

/* The offset in the table of a row's _func record. */
static uint64_t row_func(const struct go_pclntab *t, const uint8_t *row)
{
	if (t->layout >= GO_PCLN_118)
		return t->functab + rd32(row + 4);
	return (t->layout == GO_PCLN_12 ? 0 : t->functab) + rd64(row + 8);
}

/* len bytes at offset off of the table, counted against the budget. */
static int table_read(const struct go_pclntab *t, uint64_t off, void *buf, uint64_t len)
{
	int err;

	if (!fits(off, len, t->len))
		return -EINVAL;
	err = elf_image_charge(t->img, len);
	return err ? err : elf_image_pread(t->img, t->off + off, buf, len);
}

/* A window on [0, limit) of the table: the last WIN bytes read. */
struct win {
	const struct go_pclntab *t;
	uint64_t limit, at, len;
	uint8_t *buf;
};

/* *p: n bytes at offset off, read when the window does not hold them: 0,
 * -EINVAL when they lie past the limit, or the read's error. */
static int win_get(struct win *w, uint64_t off, uint64_t n, const uint8_t **p)
{
	int err;

	if (!fits(off, n, w->limit) || n > WIN)
		return -EINVAL;
	if (off < w->at || off + n > w->at + w->len) {
		w->len = 0;
		err = table_read(w->t, off, w->buf, w->limit - off < WIN ? w->limit - off : WIN);
		if (err)
			return err;
		w->at = off;
		w->len = w->limit - off < WIN ? w->limit - off : WIN;
	}
	*p = w->buf + (off - w->at);
	return 0;
}

/*
 * Where 1.18+ entries count from: runtime.text in .symtab; else in a PIE
 * the addend of the dynamic relocation of the header's word (an external
 * linker may leave the word itself 0: lld does); else the word. The word,
 * when not 0, must agree. Never .text's address: an external linker puts C
 * start-up code before runtime.text.
 */
static int find_text_start(struct go_pclntab *t, uint64_t vaddr, uint64_t word)
{
	uint64_t known;
	Elf64_Ehdr eh;
	int err = elf_image_func(t->img, "runtime.text", &known);

	if (err) {
		err = elf_image_pread(t->img, 0, &eh, sizeof(eh));
		if (err)
			return err;
		err = eh.e_type == ET_DYN ? go_reloc_addend(t->img, vaddr + TEXT_START_AT, &known) :
					    -ENOENT;
		if (err == -ENOENT && word)
			known = word, err = 0;
	}
	if (err == -ENOENT) {
		t->text_unknown = true;
		return 0;
	}
	if (err)
		return err;
	if (word && word != known)
		return -EINVAL;
	t->text_start = known;
	return 0;
}

/* Checks the header h and sets the offsets. */
static int parse_header(struct go_pclntab *t, const uint8_t *h)
{
	uint64_t w[HDR_WORDS_118], *parts;
	int nwords, i;

	if (!(t->layout = magic_layout(h)))
		return -EINVAL;
	nwords = t->layout == GO_PCLN_12 ? 1 : t->layout == GO_PCLN_116 ? HDR_WORDS_116 : HDR_WORDS_118;
	if (!fits(8, (uint64_t)nwords * 8, t->len))
		return -EINVAL;
	for (i = 0; i < nwords; i++)
		w[i] = rd64(h + 8 + 8 * i);
	t->nfunc = w[0];
	t->funcnames = 0;
	t->names_end = t->len;
	t->functab = 16;
	if (t->layout != GO_PCLN_12) {
		/* Names, compilation units, files, pc tables, functions: in order. */
		parts = w + nwords - 5;
		for (i = 0; i < 4; i++)
			if (parts[i] > parts[i + 1])
				return -EINVAL;
		t->funcnames = parts[0];
		t->names_end = parts[1];
		t->functab = parts[4];
	}
	/* The rows and the end entry after them (half a row) must lie in the table. */
	if (!t->nfunc || t->nfunc > MAX_FUNCS || t->nfunc > t->len / row_size(t) ||
	    t->names_end > t->len || !fits(t->functab, t->nfunc * row_size(t) + row_size(t) / 2, t->len))
		return -EINVAL;
	return 0;
}

/*
 * The first row and the end entry: the functions must span some code, and
 * when the addresses are known, lie in one executable segment.
 */
static int check_span(const struct go_pclntab *t)
{
	uint8_t first[16], last[8];
	uint64_t rs = row_size(t), start, end, off;
	int err = table_read(t, t->functab, first, rs);

	if (!err)
		err = table_read(t, t->functab + t->nfunc * rs, last, rs / 2);
	if (err)
		return err;
	start = row_entry(t, first);
	end = row_entry(t, last);
	if (end <= start)
		return -EINVAL;
	if (t->text_unknown)
		return 0;
	off = elf_image_offset(t->img, start);
	return off && elf_image_offset(t->img, end - 1) == off + (end - 1 - start) ? 0 : -EINVAL;
}

/* The address the table at file offset off is loaded at: 0 or -EINVAL. */
static int table_vaddr(struct elf_image *img, uint64_t off, uint64_t *vaddr)
{
	struct elf_segment seg;
	size_t i;

	for (i = 0; i < SCAN_SEGMENTS && !elf_image_segment(img, i, &seg); i++) {
		if (off >= seg.offset && off - seg.offset < seg.filesz) {
			*vaddr = seg.vaddr + (off - seg.offset);
			return 0;
		}
	}
	return -EINVAL;
}

/* Takes the up to len bytes at file offset off as the table, if its header says so. */
static int open_at(struct elf_image *img, struct go_pclntab *t, uint64_t off, uint64_t len)
{
	uint8_t h[HDR_LEN] = {};
	uint64_t vaddr;
	int err;

	memset(t, 0, sizeof(*t));
	t->img = img;
	t->off = off;
	t->len = len < PCLNTAB_MAX ? len : PCLNTAB_MAX;
	err = table_read(t, 0, h, t->len < HDR_LEN ? t->len : HDR_LEN);
	if (!err && t->len < 16)
		err = -EINVAL;
	if (!err)
		err = parse_header(t, h);
	if (!err)
		err = table_vaddr(img, off, &vaddr);
	if (!err && t->layout >= GO_PCLN_118)
		err = find_text_start(t, vaddr, rd64(h + TEXT_START_AT));
	if (!err)
		err = check_span(t);
	return err;
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
 * only malformed ones; bounded by SCAN_MAX bytes read in all, counted
 * against the image's budget.
 */
static int scan_segments(struct elf_image *img, struct go_pclntab *t)
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
			if (elf_image_charge(img, n)) {
				err = -EFBIG;
				break;
			}
			if (elf_image_pread(img, seg.offset + pos, buf, (size_t)n))
				break;
			for (k = (8 - (seg.offset + pos) % 8) % 8; looking(err) && k + 8 <= n; k += 8) {
				if (!magic_layout(buf + k))
					continue;
				/* A few tries, not one per forged header. */
				if (++tries > SCAN_TRIES)
					goto out;
				at = seg.offset + pos + k;
				err = open_at(img, t, at, seg.filesz - pos - k);
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
	/* Go's linker names it .data.rel.ro.gopclntab in a PIE. */
	if (!elf_image_section(img, ".gopclntab", &sec) ||
	    !elf_image_section(img, ".data.rel.ro.gopclntab", &sec))
		return open_at(img, t, sec.offset, sec.filesz);
	/*
	 * An external linker (cgo, distributions' PIE builds) merges the table
	 * into .data.rel.ro; a file without section headers has none: then
	 * scan, but only where the file says it is Go, not in every C
	 * program's data.
	 */
	if (!elf_image_section(img, ".text", &text) && elf_image_section(img, ".go.buildinfo", &sec) &&
	    elf_image_section(img, ".note.go.buildid", &sec))
		return -ENOENT;
	return scan_segments(img, t);
}

/* Whether the NUL-terminated name at offset at of the name table is name. */
static int name_is(struct win *names, uint64_t at, const char *name, size_t nlen, bool *same)
{
	const uint8_t *p;
	int err = win_get(names, at, nlen + 1, &p);

	*same = !err && !memcmp(p, name, nlen) && !p[nlen];
	return err == -EINVAL ? 0 : err;
}

/* Row i (at row) names a function of fns not yet found: record it. */
static int match_row(const struct go_pclntab *t, struct win *w, uint64_t i,
		     struct go_pcln_func *fns, size_t n, size_t *left)
{
	int wide = t->layout >= GO_PCLN_118 ? 4 : 8;
	uint64_t rs = row_size(t), entry, f, fentry, name_at;
	const uint8_t *p;
	int64_t nameoff;
	bool same;
	size_t k;
	int err = win_get(&w[0], t->functab + i * rs, rs, &p);

	if (err)
		return err;
	entry = row_entry(t, p);
	f = row_func(t, p);
	err = win_get(&w[1], f, (uint64_t)wide + 4, &p);
	if (err)
		return err == -EINVAL ? 0 : err;	/* a record outside the table names nothing */
	fentry = wide == 4 ? t->text_start + rd32(p) : rd64(p);
	nameoff = (int32_t)rd32(p + wide);
	name_at = t->funcnames + (uint64_t)nameoff;
	for (k = 0; k < n && nameoff >= 0; k++) {
		if (fns[k].err != -ENOENT)
			continue;
		err = name_is(&w[2], name_at, fns[k].name, strlen(fns[k].name), &same);
		if (err)
			return err;
		if (!same)
			continue;
		/* Found: the record must agree with its row, and end after it begins. */
		err = win_get(&w[0], t->functab + (i + 1) * rs, rs / 2, &p);
		if (err)
			return err;
		fns[k].entry = entry;
		fns[k].end = row_entry(t, p);
		fns[k].err = fentry != entry || fns[k].end <= entry ? -EINVAL : 0;
		--*left;
	}
	return 0;
}

int go_pclntab_find(const struct go_pclntab *t, struct go_pcln_func *fns, size_t n)
{
	struct win w[3] = { { .t = t, .limit = t->len }, { .t = t, .limit = t->len },
			     { .t = t, .limit = t->names_end } };
	uint8_t *buf = malloc(3 * WIN);
	size_t left = n, k;
	uint64_t i;
	int err = 0;

	for (k = 0; k < n; k++)
		fns[k].err = -ENOENT;
	if (!buf)
		return -ENOMEM;
	for (k = 0; k < 3; k++)
		w[k].buf = buf + k * WIN;
	/* The first of a name counts, as in the runtime's own lookups by name. */
	for (i = 0; !err && left && i < t->nfunc; i++)
		err = match_row(t, w, i, fns, n, &left);
	free(buf);
	return err;
}
