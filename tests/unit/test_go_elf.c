/* Unit tests of go_elf_inspect() on the Go peers make peers builds (plain, stripped, PIE, stripped PIE, externally linked PIE) and on corrupted copies. */
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
	/* Code that does not decode (0x06 is no instruction in 64-bit mode). */
	assert_int_equal(inspect_edited(&f, rd_off, "\x06", 1, &gi, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, conn_read));
	free(f.b);
}

static void test_go_elf_too_many_rets_is_e2big(void **state)
{
	struct file f = load(peer("gohttps"));
	const Elf64_Sym *rd = symbol(&f, conn_read);
	uint8_t rets[GO_MAX_RETS + 1];
	struct go_info gi;
	char why[256];

	memset(rets, 0xc3, sizeof(rets));
	assert_int_equal(inspect_edited(&f, offset_of(&f, rd->st_value), rets, sizeof(rets), &gi, why,
					sizeof(why)), -E2BIG);
	assert_non_null(strstr(why, "RET"));
	free(f.b);
}

/* Each byte of both headers replaced: an answer, never a crash or a hang. */
static void test_go_elf_every_header_byte_changed_is_answered(void **state)
{
	struct file f = load(peer("gohttps-pie-stripped"));
	const Elf64_Shdr *pcln = section(&f, ".data.rel.ro.gopclntab");
	const Elf64_Shdr *bi = section(&f, ".go.buildinfo");
	struct go_info gi;
	uint8_t b;
	char why[256];
	int i, err;

	assert_non_null(pcln);
	assert_non_null(bi);
	for (i = 0; i < 72 + 48; i++) {
		uint64_t at = i < 72 ? pcln->sh_offset + i : bi->sh_offset + i - 72;

		b = f.b[at] ^ 0x80;
		err = inspect_edited(&f, at, &b, 1, &gi, why, sizeof(why));
		assert_true(err == 0 || err == -EINVAL || err == -ENOENT || err == -ENOTSUP);
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
 * "xor eax,eax; ret" at the code's start, Write "xor eax,eax; je +1; ret;
 * ret" 16 bytes on; releases before the register ABI are refused.
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
		assert_int_equal(gi.read.rets[0], GO_WRAP_CODE + 2);
		assert_int_equal(gi.write.entry, GO_WRAP_CODE + 16);
		assert_int_equal(gi.write.nrets, 2);
		assert_int_equal(gi.write.rets[0], GO_WRAP_CODE + 16 + 4);
		assert_int_equal(gi.write.rets[1], GO_WRAP_CODE + 16 + 5);
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
	};

	return cmocka_run_group_tests(tests, setup, test_tmpdir_remove);
}
