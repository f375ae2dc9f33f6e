/* Unit tests of go_elf_inspect() on the Go peers make peers builds (plain, stripped, PIE, stripped PIE, PIE linked by ld and by lld) and on corrupted or forged copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "go_elf.h"
#include "test_util.h"
#include "../fuzz/go_elf_wrap.h"

static const char conn_read[] = "crypto/tls.(*Conn).Read";
static const char conn_write[] = "crypto/tls.(*Conn).Write";

/* A whole file in memory. */
struct file {
	uint8_t *b;
	size_t len;
};

/*
 * The Go peers' folder: $TLSTAP_GO_PEERS, else OUTPUT/peers beside this
 * binary's OUTPUT/tests, else the one two levels up (the sanitized build,
 * OUTPUT/asan/tests, uses the plain build's peers: Go code is not
 * sanitized). Missing peers fail the test: make unit builds them first.
 */
static const char *peer(const char *name)
{
	static char dir[PATH_MAX + 16], out[4][PATH_MAX + 64];
	static int next;
	const char *env = getenv("TLSTAP_GO_PEERS");
	char exe[PATH_MAX], try[PATH_MAX + 64];
	char *p = out[next++ % 4];
	ssize_t n;

	if (!dir[0] && env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else if (!dir[0]) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(n > 0);
		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/../peers", dirname(exe));
		snprintf(try, sizeof(try), "%s/gohttps", dir);
		if (access(try, R_OK))
			snprintf(dir, sizeof(dir), "%s/../../peers", exe);
	}
	snprintf(p, sizeof(out[0]), "%s/%s", dir, name);
	if (access(p, R_OK))
		fail_msg("%s is missing: run make peers (or set TLSTAP_GO_PEERS)", p);
	return p;
}

static struct file load(const char *path)
{
	struct file f;
	struct stat st;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	f.len = (size_t)st.st_size;
	f.b = malloc(f.len);
	assert_non_null(f.b);
	assert_int_equal(read(fd, f.b, f.len), (ssize_t)f.len);
	close(fd);
	return f;
}

static void save(const char *path, const struct file *f)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->b, f->len), (ssize_t)f->len);
	close(fd);
}

/* Reference reading with <elf.h> alone, independent of the parser under test. */
static const Elf64_Shdr *section(const struct file *f, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f->b;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(f->b + eh->e_shoff);
	const char *names = (const char *)f->b + sh[eh->e_shstrndx].sh_offset;
	int i;

	for (i = 0; i < eh->e_shnum; i++)
		if (!strcmp(names + sh[i].sh_name, name))
			return &sh[i];
	return NULL;
}

static const Elf64_Sym *symbol(const struct file *f, const char *name)
{
	const Elf64_Shdr *symtab = section(f, ".symtab"), *strtab = section(f, ".strtab");
	const Elf64_Sym *sym;
	size_t i;

	assert_non_null(symtab);
	assert_non_null(strtab);
	sym = (const Elf64_Sym *)(f->b + symtab->sh_offset);
	for (i = 0; i < symtab->sh_size / sizeof(*sym); i++)
		if (!strcmp((const char *)f->b + strtab->sh_offset + sym[i].st_name, name))
			return &sym[i];
	fail_msg("no symbol %s", name);
	return NULL;
}

static uint64_t offset_of(const struct file *f, uint64_t vaddr)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f->b;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(f->b + eh->e_phoff);
	int i;

	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
		    vaddr < ph[i].p_vaddr + ph[i].p_filesz)
			return vaddr - ph[i].p_vaddr + ph[i].p_offset;
	fail_msg("%#llx is in no segment", (unsigned long long)vaddr);
	return 0;
}

static int inspect(const char *path, struct go_info *gi, char *why, size_t whylen)
{
	struct elf_image *img;
	int err = elf_image_open(&img, path);

	if (err)
		return err;
	err = go_elf_inspect(img, gi, why, whylen);
	elf_image_close(img);
	return err;
}

/* The RETs binutils' objdump decodes in [start, end), as file offsets. */
static int objdump_rets(const char *path, const struct file *f, uint64_t start, uint64_t end,
			uint64_t *rets, int max)
{
	char cmd[PATH_MAX + 128], line[512], mnem[16];
	unsigned long long addr;
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn --start-address=%#llx "
		 "--stop-address=%#llx '%s'", (unsigned long long)start, (unsigned long long)end, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, " %llx:\t%15s", &addr, mnem) != 2 || strncmp(mnem, "ret", 3))
			continue;
		assert_true(n < max);
		rets[n++] = offset_of(f, addr);
	}
	assert_int_equal(pclose(p), 0);
	return n;
}

/* fn against .symtab's symbol and objdump: same entry, same RETs, each a C3 byte. */
static void check_func(const char *path, const struct file *f, const char *name,
		       const struct go_func *fn)
{
	const Elf64_Sym *sym = symbol(f, name);
	uint64_t rets[GO_MAX_RETS];
	int i, n;

	assert_int_equal(fn->entry, offset_of(f, sym->st_value));
	/* The entry probe: on the jbe right after the stack check (4 bytes for
	 * cmp rsp, 9 for lea r12 with an 8-bit displacement, as go1.19 builds
	 * Read and Write), a whole instruction the kernel emulates. */
	assert_true(fn->probe == fn->entry + 4 || fn->probe == fn->entry + 9);
	assert_true(f->b[fn->probe] == 0x76 || (f->b[fn->probe] == 0x0f && f->b[fn->probe + 1] == 0x86));
	n = objdump_rets(path, f, sym->st_value, sym->st_value + sym->st_size, rets, GO_MAX_RETS);
	assert_true(n > 0);
	assert_int_equal(fn->nrets, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(fn->rets[i], rets[i]);
		assert_int_equal(f->b[fn->rets[i]], 0xc3);
	}
}

static void check_release(const struct go_info *gi)
{
	assert_true(!strncmp(gi->version, "go1.19.", 7));
	assert_int_equal(gi->major, 1);
	assert_int_equal(gi->minor, 19);
	assert_true(gi->regabi);
}

static void test_go_elf_symbols_build_matches_symtab_and_objdump(void **state)
{
	const char *const names[] = { "gohttps", "gohttps-pie", "gohttps-extpie" };
	struct go_info gi;
	struct file f;
	char why[256];
	int i;

	for (i = 0; i < 3; i++) {
		f = load(peer(names[i]));
		assert_int_equal(inspect(peer(names[i]), &gi, why, sizeof(why)), 0);
		check_release(&gi);
		assert_false(gi.stripped);
		assert_int_equal(gi.pie, i > 0);
		check_func(peer(names[i]), &f, conn_read, &gi.read);
		check_func(peer(names[i]), &f, conn_write, &gi.write);
		free(f.b);
	}
}

static void assert_same_func(const struct go_func *a, const struct go_func *b)
{
	int i;

	assert_int_equal(a->entry, b->entry);
	assert_int_equal(a->probe, b->probe);
	assert_int_equal(a->nrets, b->nrets);
	for (i = 0; i < a->nrets; i++)
		assert_int_equal(a->rets[i], b->rets[i]);
}

/* The stripped build, found through .gopclntab only, gives what .symtab gave. */
static void assert_stripped_like(const char *plain, const char *stripped_path)
{
	struct go_info a, b;
	struct file fa = load(plain), fb = load(stripped_path);
	const Elf64_Shdr *ta = section(&fa, ".text"), *tb = section(&fb, ".text");
	char why[256];

	assert_int_equal(inspect(plain, &a, why, sizeof(why)), 0);
	assert_int_equal(inspect(stripped_path, &b, why, sizeof(why)), 0);
	assert_true(b.stripped);
	assert_int_equal(a.pie, b.pie);
	assert_string_equal(a.version, b.version);
	check_release(&b);
	assert_same_func(&a.read, &b.read);
	assert_same_func(&a.write, &b.write);
	/* The same code at the same offsets: -s -w only drops symbols and DWARF. */
	if (ta && tb) {
		assert_int_equal(ta->sh_offset, tb->sh_offset);
		assert_int_equal(ta->sh_size, tb->sh_size);
		assert_memory_equal(fa.b + ta->sh_offset, fb.b + tb->sh_offset, ta->sh_size);
	}
	free(fa.b);
	free(fb.b);
}

static void test_go_elf_stripped_builds_give_the_same_offsets(void **state)
{
	assert_stripped_like(peer("gohttps"), peer("gohttps-stripped"));
	assert_stripped_like(peer("gohttps-pie"), peer("gohttps-pie-stripped"));
}

/* Linked by the system's linker, the table has no section of its own: found by magic. */
static void test_go_elf_external_link_table_in_data_rel_ro(void **state)
{
	struct file f = load(peer("gohttps-extpie-stripped"));

	assert_null(section(&f, ".gopclntab"));
	assert_null(section(&f, ".data.rel.ro.gopclntab"));
	assert_non_null(section(&f, ".data.rel.ro"));
	free(f.b);
	assert_stripped_like(peer("gohttps-extpie"), peer("gohttps-extpie-stripped"));
}

/* Section headers gone (sstrip): the tables are found by their magic. */
static void test_go_elf_without_section_headers_found_by_magic(void **state)
{
	const char *const names[] = { "gohttps", "gohttps-pie-stripped" };
	Elf64_Ehdr *eh;
	struct file f;
	int i;

	for (i = 0; i < 2; i++) {
		f = load(peer(names[i]));
		eh = (Elf64_Ehdr *)f.b;
		eh->e_shoff = 0;
		eh->e_shnum = 0;
		eh->e_shstrndx = 0;
		save(tmp_path("noshdr"), &f);
		assert_stripped_like(peer(names[i]), tmp_path("noshdr"));
		free(f.b);
	}
}

static void test_go_elf_not_go_is_enoent(void **state)
{
	struct go_info gi;
	char why[64];

	assert_int_equal(inspect("/bin/true", &gi, why, sizeof(why)), -ENOENT);
	assert_int_equal(inspect("testdata/elf/fake_app", &gi, why, sizeof(why)), -ENOENT);
}

/* The copy of the plain build with edit applied at off, inspected. */
static int inspect_edited(const struct file *orig, uint64_t off, const void *edit, size_t len,
			  struct go_info *gi, char *why, size_t whylen)
{
	struct file f = { malloc(orig->len), orig->len };

	assert_non_null(f.b);
	memcpy(f.b, orig->b, f.len);
	assert_true(off + len <= f.len);
	memcpy(f.b + off, edit, len);
	save(tmp_path("edited"), &f);
	free(f.b);
	return inspect(tmp_path("edited"), gi, why, whylen);
}

/* No build information: the table's layout (1.18+) still says register ABI. */
static void test_go_elf_unknown_version_still_register_abi(void **state)
{
	struct file f = load(peer("gohttps-stripped"));
	const Elf64_Shdr *bi = section(&f, ".go.buildinfo");
	struct go_info gi;
	char why[256];

	assert_non_null(bi);
	assert_int_equal(inspect_edited(&f, bi->sh_offset, "\0\0\0\0", 4, &gi, why, sizeof(why)), 0);
	assert_string_equal(gi.version, "");
	assert_int_equal(gi.major, 0);
	assert_true(gi.regabi);
	assert_true(gi.read.nrets > 0);
	free(f.b);
}

/* A release before the register ABI is refused, saying which. */
static void test_go_elf_stack_abi_release_is_enotsup(void **state)
{
	struct file f = load(peer("gohttps"));
	const Elf64_Shdr *bi = section(&f, ".go.buildinfo");
	uint8_t *v;
	struct go_info gi;
	char why[256];

	assert_non_null(bi);
	v = memmem(f.b + bi->sh_offset, bi->sh_size, "go1.19.", 7);
	assert_non_null(v);
	assert_int_equal(inspect_edited(&f, (uint64_t)(v - f.b) + 4, "16", 2, &gi, why, sizeof(why)),
			 -ENOTSUP);
	assert_int_equal(gi.minor, 16);
	assert_false(gi.regabi);
	assert_non_null(strstr(why, "go1.16."));
	free(f.b);
}

static void test_go_elf_corrupt_tables_are_einval(void **state)
{
	struct file f = load(peer("gohttps"));
	const Elf64_Shdr *pcln = section(&f, ".gopclntab");
	const Elf64_Sym *rd = symbol(&f, conn_read);
	uint64_t huge = UINT64_MAX / 2, moved = rd->st_value + 1;
	uint64_t rd_off = offset_of(&f, rd->st_value);
	struct go_info gi;
	char why[256];

	assert_non_null(pcln);
	/* A header pad byte, the function count, the name and function table offsets. */
	assert_int_equal(inspect_edited(&f, pcln->sh_offset + 4, "\1", 1, &gi, why, sizeof(why)), -EINVAL);
	assert_int_equal(inspect_edited(&f, pcln->sh_offset + 8, &huge, 8, &gi, why, sizeof(why)), -EINVAL);
	assert_int_equal(inspect_edited(&f, pcln->sh_offset + 32, &huge, 8, &gi, why, sizeof(why)), -EINVAL);
	assert_int_equal(inspect_edited(&f, pcln->sh_offset + 64, &huge, 8, &gi, why, sizeof(why)), -EINVAL);
	/* .symtab disagreeing with the table. */
	assert_int_equal(inspect_edited(&f, (uint64_t)((const uint8_t *)&rd->st_value - f.b), &moved, 8,
					&gi, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "disagree"));
	/* Code that does not decode (0x06 is no instruction in 64-bit mode) after the stack check. */
	assert_int_equal(inspect_edited(&f, rd_off + 4, "\x06", 1, &gi, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, conn_read));
	assert_non_null(strstr(why, "no instruction"));
	/* An entry without Go's stack check is not taken for one. */
	assert_int_equal(inspect_edited(&f, rd_off, "\x90", 1, &gi, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, conn_read));
	assert_non_null(strstr(why, "stack check"));
	free(f.b);
}

static void test_go_elf_too_many_rets_is_e2big(void **state)
{
	struct file f = load(peer("gohttps"));
	const Elf64_Sym *rd = symbol(&f, conn_read);
	uint8_t rets[GO_MAX_RETS + 1];
	struct go_info gi;
	char why[256];

	/* After Read's stack check (cmp rsp, [r14+16]: 4 bytes), which is kept. */
	memset(rets, 0xc3, sizeof(rets));
	assert_memory_equal(f.b + offset_of(&f, rd->st_value), "\x49\x3b\x66\x10", 4);
	assert_int_equal(inspect_edited(&f, offset_of(&f, rd->st_value) + 4, rets, sizeof(rets), &gi,
					why, sizeof(why)), -E2BIG);
	assert_non_null(strstr(why, "RET"));
	free(f.b);
}

/*
 * Each byte of both headers replaced: an error, or the offsets of the
 * unmodified file; never a crash, a hang, or other offsets (a probe there
 * could land inside an instruction).
 */
static void test_go_elf_every_header_byte_changed_is_answered(void **state)
{
	struct file f = load(peer("gohttps-pie-stripped"));
	const Elf64_Shdr *pcln = section(&f, ".data.rel.ro.gopclntab");
	const Elf64_Shdr *bi = section(&f, ".go.buildinfo");
	struct go_info gi, orig;
	uint8_t b;
	char why[256];
	int i, err;

	assert_non_null(pcln);
	assert_non_null(bi);
	assert_int_equal(inspect(peer("gohttps-pie-stripped"), &orig, why, sizeof(why)), 0);
	for (i = 0; i < 72 + 48; i++) {
		uint64_t at = i < 72 ? pcln->sh_offset + i : bi->sh_offset + i - 72;

		b = f.b[at] ^ 0x80;
		err = inspect_edited(&f, at, &b, 1, &gi, why, sizeof(why));
		assert_true(err == 0 || err == -EINVAL || err == -ENOENT || err == -ENOTSUP);
		if (!err) {
			assert_same_func(&gi.read, &orig.read);
			assert_same_func(&gi.write, &orig.write);
		}
	}
	free(f.b);
}

/* One seed of testdata/go, made into an executable and inspected. */
static int inspect_seed(const char *name, struct go_info *gi, char *why, size_t whylen)
{
	static uint8_t built[GO_WRAP_LEN];
	struct file seed, f = { built, sizeof(built) };
	char path[128];

	snprintf(path, sizeof(path), "testdata/go/%s.seed", name);
	seed = load(path);
	assert_int_equal(go_wrap(built, seed.b, seed.len), 0);
	free(seed.b);
	save(tmp_path("seed"), &f);
	return inspect(tmp_path("seed"), gi, why, whylen);
}

/*
 * Every table layout, as tests/fuzz/go_elf_seeds.py writes them: Read is
 * "cmp rsp,[r14+16]; xor eax,eax; ret" at the code's start, Write "lea
 * r12,[rsp-8]; cmp r12,[r14+16]; xor eax,eax; je +1; ret; ret" 16 bytes
 * on; releases before the register ABI are refused.
 */
static void test_go_elf_every_table_layout(void **state)
{
	static const struct {
		const char *seed, *version;
		int err, minor;
	} cases[] = {
		{ "go120", "go1.21.5", 0, 21 },
		{ "go119", "go1.19.8", 0, 19 },
		{ "go119-pie-noshdr", "go1.19.8", 0, 19 },
		{ "go117", "go1.17.13", 0, 17 },
		{ "go116-noinfo", "", -ENOTSUP, 0 },
		{ "go115", "go1.15.15", -ENOTSUP, 15 },
	};
	struct go_info gi;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(inspect_seed(cases[i].seed, &gi, why, sizeof(why)), cases[i].err);
		assert_string_equal(gi.version, cases[i].version);
		assert_int_equal(gi.minor, cases[i].minor);
		assert_true(gi.stripped);
		assert_int_equal(gi.pie, !strcmp(cases[i].seed, "go119-pie-noshdr"));
		if (cases[i].err) {
			assert_false(gi.regabi);
			assert_non_null(strstr(why, "stack"));
			continue;
		}
		assert_true(gi.regabi);
		assert_int_equal(gi.read.entry, GO_WRAP_CODE);
		assert_int_equal(gi.read.nrets, 1);
		assert_int_equal(gi.read.rets[0], GO_WRAP_CODE + 6);
		assert_int_equal(gi.write.entry, GO_WRAP_CODE + 16);
		assert_int_equal(gi.write.nrets, 2);
		assert_int_equal(gi.write.rets[0], GO_WRAP_CODE + 16 + 13);
		assert_int_equal(gi.write.rets[1], GO_WRAP_CODE + 16 + 14);
	}
}

/* The first Go 1.18+ table header in section name of f, found by its magic: its file offset. */
static uint64_t table_in(const struct file *f, const char *name)
{
	const Elf64_Shdr *sh = section(f, name);
	uint64_t at;

	assert_non_null(sh);
	for (at = sh->sh_offset; at + 8 <= sh->sh_offset + sh->sh_size; at += 8)
		if (!memcmp(f->b + at, "\xf0\xff\xff\xff\0\0\1\x08", 8))
			return at;
	fail_msg("no table in %s", name);
	return 0;
}

/* The dynamic relocation of the word at vaddr in .rela.dyn, or NULL. */
static Elf64_Rela *rela_of(const struct file *f, uint64_t vaddr)
{
	const Elf64_Shdr *sh = section(f, ".rela.dyn");
	Elf64_Rela *r;
	size_t i;

	assert_non_null(sh);
	r = (Elf64_Rela *)(f->b + sh->sh_offset);
	for (i = 0; i < sh->sh_size / sizeof(*r); i++)
		if (r[i].r_offset == vaddr)
			return &r[i];
	return NULL;
}

/*
 * Linked by lld: runtime.text is not where .text starts (C start-up code
 * first), and the table's text start is 0 in the file, its value only in
 * its dynamic relocation. The offsets are still .symtab's, symbols or not.
 */
static void test_go_elf_lld_pie_text_start_from_relocation(void **state)
{
	struct file f = load(peer("gohttps-lldpie")), fs = load(peer("gohttps-lldpie-stripped"));
	const Elf64_Shdr *text = section(&f, ".text"), *rodata = section(&fs, ".data.rel.ro");
	const Elf64_Sym *rt = symbol(&f, "runtime.text");
	uint64_t at = table_in(&fs, ".data.rel.ro");
	Elf64_Rela *r = rela_of(&fs, rodata->sh_addr + (at - rodata->sh_offset) + 24);
	struct go_info a, b;
	char why[256];

	assert_non_null(text);
	assert_int_not_equal(text->sh_addr, rt->st_value);
	assert_non_null(r);
	assert_int_equal(ELF64_R_TYPE(r->r_info), R_X86_64_RELATIVE);
	assert_int_equal(r->r_addend, rt->st_value);
	assert_memory_equal(fs.b + at + 24, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(inspect(peer("gohttps-lldpie"), &a, why, sizeof(why)), 0);
	assert_false(a.stripped);
	assert_true(a.pie);
	check_func(peer("gohttps-lldpie"), &f, conn_read, &a.read);
	check_func(peer("gohttps-lldpie"), &f, conn_write, &a.write);
	/* Stripped: the same offsets (lld lays out the same code), or a refusal that says why. */
	if (inspect(peer("gohttps-lldpie-stripped"), &b, why, sizeof(why))) {
		assert_true(why[0]);
	} else {
		assert_true(b.stripped);
		assert_same_func(&a.read, &b.read);
		assert_same_func(&a.write, &b.write);
	}
	assert_stripped_like(peer("gohttps-lldpie"), peer("gohttps-lldpie-stripped"));
	free(f.b);
	free(fs.b);
}

/*
 * The text start's relocation edited in the stripped lld build: gone, it
 * is unknown and the program refused, saying so (never .text's address);
 * pointing elsewhere, the entries found lack Go's stack check: refused.
 */
static void test_go_elf_text_start_never_guessed(void **state)
{
	struct file f = load(peer("gohttps-lldpie-stripped"));
	const Elf64_Shdr *rodata = section(&f, ".data.rel.ro");
	uint64_t at = table_in(&f, ".data.rel.ro");
	Elf64_Rela *r = rela_of(&f, rodata->sh_addr + (at - rodata->sh_offset) + 24), edit;
	struct go_info gi;
	char why[256];
	int err;

	assert_non_null(r);
	edit = *r;
	edit.r_offset += 8;
	assert_int_equal(inspect_edited(&f, (uint64_t)((uint8_t *)r - f.b), &edit, sizeof(edit), &gi,
					why, sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "text start unknown"));
	assert_string_equal(gi.version, "go1.19.8");
	/* Shifted by what .text's address would have been off (0x100) and by others. */
	edit = *r;
	edit.r_addend -= 0x100;
	err = inspect_edited(&f, (uint64_t)((uint8_t *)r - f.b), &edit, sizeof(edit), &gi, why,
			     sizeof(why));
	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(why, "stack check"));
	edit.r_addend += 0x100 + 0x40;
	err = inspect_edited(&f, (uint64_t)((uint8_t *)r - f.b), &edit, sizeof(edit), &gi, why,
			     sizeof(why));
	assert_int_equal(err, -EINVAL);
	/* A word in the file that disagrees with its relocation. */
	edit.r_addend -= 0x40;
	assert_int_equal(inspect_edited(&f, at + 24, &edit.r_offset, 8, &gi, why, sizeof(why)), -EINVAL);
	free(f.b);
}

/* Parts of a forged executable: code at 0x400000, everything after 4 KiB one read-only segment. */
#define FORGE_CODE	0x400000ull
#define FORGE_SIZE	(300ull << 20)

/*
 * Writes a sparse FORGE_SIZE file at path: the ELF and program headers,
 * with a .gopclntab section header at pcln (of pcln_len bytes) when pcln,
 * and the n parts given (offset, bytes, length) anywhere in it.
 */
struct part {
	uint64_t at;
	const void *b;
	size_t len;
};

static void forge(const char *path, uint64_t pcln, uint64_t pcln_len, const struct part *parts,
		  size_t n)
{
	static const char shstr[] = "\0.text\0.gopclntab\0.shstrtab";
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh), .e_phentsize = sizeof(Elf64_Phdr),
			  .e_phnum = 2, .e_shentsize = sizeof(Elf64_Shdr) };
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_vaddr = FORGE_CODE, .p_filesz = 4096,
		  .p_memsz = 4096, .p_align = 4096 },
		{ .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = 4096, .p_vaddr = FORGE_CODE + 4096,
		  .p_filesz = FORGE_SIZE - 4096, .p_memsz = FORGE_SIZE - 4096, .p_align = 4096 },
	};
	Elf64_Shdr sh[4] = {
		{}, { .sh_name = 1, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
		      .sh_addr = FORGE_CODE + 0x800, .sh_offset = 0x800, .sh_size = 0x800 },
		{ .sh_name = 7, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
		  .sh_addr = FORGE_CODE + pcln, .sh_offset = pcln, .sh_size = pcln_len },
		{ .sh_name = 18, .sh_type = SHT_STRTAB, .sh_offset = 0x400, .sh_size = sizeof(shstr) },
	};
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0755);
	size_t i;

	assert_true(fd >= 0);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	if (pcln) {
		eh.e_shoff = 0x200;
		eh.e_shnum = 4;
		eh.e_shstrndx = 3;
	}
	assert_int_equal(ftruncate(fd, (off_t)FORGE_SIZE), 0);
	assert_int_equal(pwrite(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	assert_int_equal(pwrite(fd, ph, sizeof(ph), sizeof(eh)), (ssize_t)sizeof(ph));
	assert_int_equal(pwrite(fd, sh, sizeof(sh), 0x200), (ssize_t)sizeof(sh));
	assert_int_equal(pwrite(fd, shstr, sizeof(shstr), 0x400), (ssize_t)sizeof(shstr));
	for (i = 0; i < n; i++)
		assert_int_equal(pwrite(fd, parts[i].b, parts[i].len, (off_t)parts[i].at),
				 (ssize_t)parts[i].len);
	close(fd);
}

/* go_elf_inspect() on path: its answer, and the bytes it read (counted against the budget). */
static int inspect_counted(const char *path, uint64_t *charged)
{
	struct elf_image *img;
	struct go_info gi;
	char why[256];
	int err;

	assert_int_equal(elf_image_open(&img, path), 0);
	err = go_elf_inspect(img, &gi, why, sizeof(why));
	*charged = elf_image_charged(img);
	elf_image_close(img);
	return err;
}

/* A Go 1.18 table header: nfunc functions, text at FORGE_CODE + 0x800, every part at 72. */
static void forged_header(uint8_t h[72], uint64_t nfunc)
{
	uint64_t w[8] = { nfunc, 0, FORGE_CODE + 0x800, 72, 72, 72, 72, 72 };

	memcpy(h, "\xf0\xff\xff\xff\0\0\1\x08", 8);
	memcpy(h + 8, w, sizeof(w));
}

/*
 * Forged tables in a sparse 300 MB file, which costs nothing to make:
 * found by their magic without section headers, or named by a 200 MB
 * .gopclntab, with up to MAX_FUNCS rows. Each is answered after reading a
 * bounded part of the file (the scan's 128 MiB, the rows): never the whole
 * claimed table, never the file.
 */
static void test_go_elf_forged_sparse_tables_are_bounded(void **state)
{
	uint8_t h[72], many[72];
	uint32_t end = 16;
	uint64_t charged;
	struct timespec t0, t1;
	const struct part scattered[] = {
		{ 4096, h, 72 }, { 50u << 20, h, 72 }, { 100u << 20, h, 72 },
		{ 150u << 20, h, 72 }, { 200u << 20, h, 72 }, { 250u << 20, h, 72 },
	}, huge[] = { { 4096, many, 72 } };
	const struct part rows[] = { { 4096, h, 72 }, { 4096 + 72 + (2u << 20) * 8, &end, 4 } };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	forged_header(h, 1u << 20);
	forged_header(many, 16u << 20);
	/* No section headers: scanned for, a few tries, up to 128 MiB read. */
	forge(tmp_path("forged"), 0, 0, scattered, 6);
	assert_true(inspect_counted(tmp_path("forged"), &charged) < 0);
	assert_true(charged <= (128u << 20) + (1u << 20));
	/* More functions than any program has: refused from the header. */
	forge(tmp_path("forged"), 4096, 200u << 20, huge, 1);
	assert_int_equal(inspect_counted(tmp_path("forged"), &charged), -EINVAL);
	assert_true(charged < (1u << 20));
	/* All-zero rows span no code: refused from the first and last. */
	forge(tmp_path("forged"), 4096, 200u << 20, scattered, 1);
	assert_int_equal(inspect_counted(tmp_path("forged"), &charged), -EINVAL);
	assert_true(charged < (1u << 20));
	/* 2M rows that do: walked a window at a time, the rows read once. */
	forged_header(h, 2u << 20);
	forge(tmp_path("forged"), 4096, 200u << 20, rows, 2);
	assert_int_equal(inspect_counted(tmp_path("forged"), &charged), -ENOENT);
	assert_true(charged <= (2u << 20) * 8 + (1u << 20));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Generous: the reads above are of holes (zeros), the rows compared in memory. */
	assert_true((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9 < 2.0);
}

/* A real table is read once at most, not whole: the rows, names and records walked. */
static void test_go_elf_real_table_read_once(void **state)
{
	const char *const names[] = { "gohttps-stripped", "gohttps-extpie-stripped" };
	struct file f;
	uint64_t charged;
	int i;

	for (i = 0; i < 2; i++) {
		f = load(peer(names[i]));
		assert_int_equal(inspect_counted(peer(names[i]), &charged), 0);
		/* Less than the file: the table is a third of it, the scan reads up to it. */
		assert_true(charged < f.len);
		free(f.b);
	}
}

static int setup(void **state)
{
	return test_tmpdir_create("go-elf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_elf_symbols_build_matches_symtab_and_objdump),
		cmocka_unit_test(test_go_elf_stripped_builds_give_the_same_offsets),
		cmocka_unit_test(test_go_elf_external_link_table_in_data_rel_ro),
		cmocka_unit_test(test_go_elf_without_section_headers_found_by_magic),
		cmocka_unit_test(test_go_elf_not_go_is_enoent),
		cmocka_unit_test(test_go_elf_unknown_version_still_register_abi),
		cmocka_unit_test(test_go_elf_stack_abi_release_is_enotsup),
		cmocka_unit_test(test_go_elf_corrupt_tables_are_einval),
		cmocka_unit_test(test_go_elf_too_many_rets_is_e2big),
		cmocka_unit_test(test_go_elf_every_header_byte_changed_is_answered),
		cmocka_unit_test(test_go_elf_every_table_layout),
		cmocka_unit_test(test_go_elf_lld_pie_text_start_from_relocation),
		cmocka_unit_test(test_go_elf_text_start_never_guessed),
		cmocka_unit_test(test_go_elf_forged_sparse_tables_are_bounded),
		cmocka_unit_test(test_go_elf_real_table_read_once),
	};

	return cmocka_run_group_tests(tests, setup, test_tmpdir_remove);
}
