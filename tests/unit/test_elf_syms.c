/* Unit tests of elf_find_funcs(), elf_image and targets_add_file() on the ELF files in testdata/elf/
 * and on hostile files made from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <sys/sysmacros.h>
#include "tlstap.h"
#include "elf_image.h"
#include "elf_syms.h"
#include "elf_symindex.h"
#include "probe_table.h"
#include "targets.h"

static const char *const ssl_names[] = { "SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex" };
#define NNAMES	(sizeof(ssl_names) / sizeof(ssl_names[0]))

/* testdata/ relative to the repository root (tests run from there), or $TLSTAP_TESTDATA. */
static const char *td(const char *name)
{
	static char buf[8][4096];
	static int next;
	const char *root = getenv("TLSTAP_TESTDATA");
	char *out = buf[next++ % 8];

	snprintf(out, sizeof(buf[0]), "%s/elf/%s", root && *root ? root : "testdata", name);
	return out;
}

/* The whole file in memory, for the reference parser below. */
static unsigned char *slurp(const char *path, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

/*
 * Reference answer, written independently of elf_syms.c with <elf.h> only:
 * the defined function symbol called name in the first section of type
 * shtype, its st_value turned into a file offset through the PT_LOAD segment
 * holding it. 0 when there is no such function. 64-bit little-endian only,
 * which is what the committed inputs are.
 */
static uint64_t ref_offset(const char *path, Elf64_Word shtype, const char *name)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh, *strsh;
	const Elf64_Phdr *ph;
	const Elf64_Sym *sym;
	unsigned char *f;
	uint64_t vaddr = 0, off = 0;
	size_t len, i, nsyms;

	f = slurp(path, &len);
	assert_true(len >= sizeof(*eh));
	eh = (const Elf64_Ehdr *)f;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh->e_shentsize, sizeof(Elf64_Shdr));
	assert_true(eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <= len);
	sh = (const Elf64_Shdr *)(f + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == shtype)
			break;
	assert_true(i < eh->e_shnum);
	sh = &sh[i];
	strsh = (const Elf64_Shdr *)(f + eh->e_shoff) + sh->sh_link;
	assert_true(sh->sh_offset + sh->sh_size <= len);
	assert_true(strsh->sh_offset + strsh->sh_size <= len);
	nsyms = sh->sh_size / sizeof(Elf64_Sym);
	sym = (const Elf64_Sym *)(f + sh->sh_offset);
	for (i = 0; i < nsyms; i++) {
		assert_true(sym[i].st_name < strsh->sh_size);
		if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC || sym[i].st_shndx == SHN_UNDEF ||
		    strcmp((const char *)f + strsh->sh_offset + sym[i].st_name, name))
			continue;
		vaddr = sym[i].st_value;
		break;
	}
	if (vaddr) {
		assert_true(eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) <= len);
		ph = (const Elf64_Phdr *)(f + eh->e_phoff);
		for (i = 0; i < eh->e_phnum; i++) {
			if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
			    vaddr < ph[i].p_vaddr + ph[i].p_filesz) {
				off = vaddr - ph[i].p_vaddr + ph[i].p_offset;
				break;
			}
		}
		assert_true(off != 0);	/* a defined function lies in a loaded segment */
	}
	free(f);
	return off;
}

static void test_elf_syms_offsets_match_dynsym_file_offsets(void **state)
{
	uint64_t off[NNAMES];
	size_t i, j;

	assert_int_equal(elf_find_funcs(td("fake_ssl.so"), ssl_names, NNAMES, off), 0);
	for (i = 0; i < NNAMES; i++) {
		assert_true(off[i] != 0);
		assert_int_equal(off[i], ref_offset(td("fake_ssl.so"), SHT_DYNSYM, ssl_names[i]));
		for (j = 0; j < i; j++)
			assert_int_not_equal(off[i], off[j]);
	}
}

/* The bytes at each offset are the code the dynamic loader maps at dlsym(name). */
static void test_elf_syms_offsets_point_at_the_loaded_code(void **state)
{
	uint64_t off[NNAMES];
	unsigned char *file;
	const unsigned char *code;
	char abspath[4096];
	Dl_info info;
	size_t len, i;
	void *h;

	assert_non_null(realpath(td("fake_ssl.so"), abspath));
	assert_int_equal(elf_find_funcs(abspath, ssl_names, NNAMES, off), 0);
	file = slurp(abspath, &len);
	h = dlopen(abspath, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	for (i = 0; i < NNAMES; i++) {
		code = dlsym(h, ssl_names[i]);
		assert_non_null(code);
		assert_true(dladdr(code, &info) != 0);
		/* Compiled with -O1, every function is longer than 16 bytes. */
		assert_true(off[i] + 16 <= len);
		assert_memory_equal(file + off[i], code, 16);
	}
	dlclose(h);
	free(file);
}

/* A non-PIE executable: addresses are not offsets, and only .symtab has the functions. */
static void test_elf_syms_exec_symtab_vaddr_converted_to_offset(void **state)
{
	uint64_t off[NNAMES];
	size_t i;

	assert_int_equal(elf_find_funcs(td("fake_app"), ssl_names, NNAMES, off), 0);
	for (i = 0; i < NNAMES; i++) {
		assert_true(off[i] != 0);
		assert_true(off[i] < 0x400000);	/* a file offset, not the 0x40xxxx address */
		assert_int_equal(off[i], ref_offset(td("fake_app"), SHT_SYMTAB, ssl_names[i]));
	}
}

static void test_elf_syms_stripped_lib_found_through_dynsym(void **state)
{
	uint64_t off[NNAMES];
	size_t i;

	assert_int_equal(elf_find_funcs(td("fake_ssl_stripped.so"), ssl_names, NNAMES, off), 0);
	for (i = 0; i < NNAMES; i++) {
		assert_true(off[i] != 0);
		assert_int_equal(off[i], ref_offset(td("fake_ssl_stripped.so"), SHT_DYNSYM,
						    ssl_names[i]));
	}
}

static void test_elf_syms_absent_functions_are_zero(void **state)
{
	const char *const names[] = { "SSL_read", "no_such_function", "SSL_write", "SSL_write_ex" };
	uint64_t off[4];

	/* Preset garbage: the function must clear what it does not find. */
	memset(off, 0xa5, sizeof(off));
	assert_int_equal(elf_find_funcs(td("fake_ssl11.so"), names, 4, off), 0);
	assert_int_equal(off[0], ref_offset(td("fake_ssl11.so"), SHT_DYNSYM, "SSL_read"));
	assert_true(off[0] != 0);
	assert_int_equal(off[1], 0);
	assert_int_equal(off[2], ref_offset(td("fake_ssl11.so"), SHT_DYNSYM, "SSL_write"));
	assert_true(off[2] != 0);
	assert_int_equal(off[3], 0);
}

/* A data object SSL_read, a function SSL_writev, an imported SSL_read_ex: none is a match. */
static void test_elf_syms_lookalike_symbols_are_not_matches(void **state)
{
	uint64_t off[NNAMES];
	size_t i;

	memset(off, 0xa5, sizeof(off));
	assert_int_equal(elf_find_funcs(td("fake_nossl.so"), ssl_names, NNAMES, off), 0);
	for (i = 0; i < NNAMES; i++)
		assert_int_equal(off[i], 0);
}

static void test_elf_syms_not_elf_is_enoexec(void **state)
{
	uint64_t off[NNAMES];

	memset(off, 0xa5, sizeof(off));
	assert_int_equal(elf_find_funcs(td("not_elf.txt"), ssl_names, NNAMES, off), -ENOEXEC);
	assert_int_equal(off[0], 0);
}

static void test_elf_syms_empty_file_is_enoexec(void **state)
{
	uint64_t off[NNAMES];

	assert_int_equal(elf_find_funcs(td("empty"), ssl_names, NNAMES, off), -ENOEXEC);
	assert_int_equal(off[0], 0);
}

/* 200 bytes: a valid ELF header, but program and section headers lie past the end. */
static void test_elf_syms_truncated_elf_is_enoexec(void **state)
{
	uint64_t off[NNAMES];
	size_t i;

	memset(off, 0xa5, sizeof(off));
	assert_int_equal(elf_find_funcs(td("truncated.so"), ssl_names, NNAMES, off), -ENOEXEC);
	for (i = 0; i < NNAMES; i++)
		assert_int_equal(off[i], 0);
}

static void test_elf_syms_missing_file_is_enoent(void **state)
{
	uint64_t off[NNAMES];

	assert_int_equal(elf_find_funcs(td("no_such_file.so"), ssl_names, NNAMES, off), -ENOENT);
}

static void test_elf_syms_directory_is_an_error(void **state)
{
	uint64_t off[NNAMES];
	int err = elf_find_funcs(td(""), ssl_names, NNAMES, off);

	/* open(2) succeeds on a directory; what follows must still refuse it. */
	assert_int_equal(err, -ENOEXEC);
}

/* The target list lives in the test's state, so a failed assertion leaks nothing. */
static int tl_setup(void **state)
{
	*state = calloc(1, sizeof(struct target_list));
	return *state ? 0 : -1;
}

static int tl_teardown(void **state)
{
	targets_free(*state);
	free(*state);
	return 0;
}

/* The index of OpenSSL's function name in its table entry (and a target's offsets). */
static int func_id(const char *name)
{
	int fi = tls_lib_func(tls_libs[probe_lib_by_name("openssl")], name, -1);

	if (fi < 0)
		fail_msg("%s not in OpenSSL's table entry", name);
	return fi;
}

static void test_targets_add_file_ssl_lib_is_one_target(void **state)
{
	struct target_list *tl = *state;
	struct stat st;
	size_t i;
	int id;

	assert_int_equal(targets_add_file(tl, td("fake_ssl.so"), "test", true), 1);
	assert_int_equal(tl->n, 1);
	assert_int_equal(stat(td("fake_ssl.so"), &st), 0);
	assert_int_equal(tl->v[0].dev, st.st_dev);
	assert_int_equal(tl->v[0].ino, st.st_ino);
	assert_string_equal(tls_libs[tl->v[0].lib]->name, "openssl");
	assert_string_equal(tl->v[0].path, td("fake_ssl.so"));
	assert_string_equal(tl->v[0].origin, "test");
	for (i = 0; i < NNAMES; i++) {
		id = func_id(ssl_names[i]);
		assert_int_equal(tl->v[0].pts.offsets[id],
				 ref_offset(td("fake_ssl.so"), SHT_DYNSYM, ssl_names[i]));
	}
}

/* OpenSSL 1.1.0 has no _ex functions: still a target, with those offsets 0. */
static void test_targets_add_file_without_ex_is_target(void **state)
{
	struct target_list *tl = *state;

	assert_int_equal(targets_add_file(tl, td("fake_ssl11.so"), "test", true), 1);
	assert_int_equal(tl->n, 1);
	assert_int_equal(tl->v[0].pts.offsets[func_id("SSL_read")],
			 ref_offset(td("fake_ssl11.so"), SHT_DYNSYM, "SSL_read"));
	assert_int_equal(tl->v[0].pts.offsets[func_id("SSL_write")],
			 ref_offset(td("fake_ssl11.so"), SHT_DYNSYM, "SSL_write"));
	assert_int_equal(tl->v[0].pts.offsets[func_id("SSL_read_ex")], 0);
	assert_int_equal(tl->v[0].pts.offsets[func_id("SSL_write_ex")], 0);
}

static void test_targets_add_file_strict_errors(void **state)
{
	struct target_list *tl = *state;

	assert_int_equal(targets_add_file(tl, td("not_elf.txt"), "test", true), -ENOEXEC);
	assert_int_equal(targets_add_file(tl, td("fake_nossl.so"), "test", true), -ENOENT);
	assert_int_equal(targets_add_file(tl, td("no_such_file.so"), "test", true), -ENOENT);
	assert_int_equal(targets_add_file(tl, td(""), "test", true), -ENOEXEC);	/* a directory */
	/* Seen before: the answer must not change the second time. */
	assert_int_equal(targets_add_file(tl, td("fake_nossl.so"), "test", true), -ENOENT);
	assert_int_equal(tl->n, 0);
}

/* The same file gets the same answer every time, whoever looked at it first. */
static void test_targets_add_file_strict_error_same_on_second_call(void **state)
{
	struct target_list *tl = *state;

	assert_int_equal(targets_add_file(tl, td("not_elf.txt"), "test", true), -ENOEXEC);
	assert_int_equal(targets_add_file(tl, td("not_elf.txt"), "test", true), -ENOEXEC);
	/* Seen first by a lenient scan (a process mapping it), then named with --lib. */
	assert_int_equal(targets_add_file(tl, td("empty"), "scan", false), 0);
	assert_int_equal(targets_add_file(tl, td("empty"), "--lib", true), -ENOEXEC);
}

static void test_targets_add_file_lenient_errors_are_zero(void **state)
{
	struct target_list *tl = *state;

	assert_int_equal(targets_add_file(tl, td("not_elf.txt"), "test", false), 0);
	assert_int_equal(targets_add_file(tl, td("fake_nossl.so"), "test", false), 0);
	assert_int_equal(targets_add_file(tl, td("no_such_file.so"), "test", false), 0);
	assert_int_equal(targets_add_file(tl, td("empty"), "test", false), 0);
	assert_int_equal(tl->n, 0);
}

/* Twice by the same path and once through a symlink: one file, one target. */
static void test_targets_add_file_same_file_twice_is_one_target(void **state)
{
	struct target_list *tl = *state;
	char dir[] = "/tmp/tlstap-test-XXXXXX", link[4096], abspath[4096];

	assert_non_null(mkdtemp(dir));
	assert_non_null(realpath(td("fake_ssl.so"), abspath));
	snprintf(link, sizeof(link), "%s/libssl.so", dir);
	assert_int_equal(symlink(abspath, link), 0);

	assert_int_equal(targets_add_file(tl, td("fake_ssl.so"), "first", true), 1);
	assert_int_equal(targets_add_file(tl, td("fake_ssl.so"), "second", true), 1);
	assert_int_equal(targets_add_file(tl, link, "third", true), 1);
	assert_int_equal(tl->n, 1);
	assert_string_equal(tl->v[0].origin, "first");
	/* A different file is a second target. */
	assert_int_equal(targets_add_file(tl, td("fake_ssl11.so"), "fourth", true), 1);
	assert_int_equal(tl->n, 2);

	unlink(link);
	rmdir(dir);
}

/* A fresh directory for files a test makes; removed by rm_dir(). */
static void make_dir(char *dir)
{
	strcpy(dir, "/tmp/tlstap-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void rm_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void copy_file(const char *src, const char *dst)
{
	unsigned char *buf;
	size_t len;
	int fd;

	buf = slurp(src, &len);
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

/* A copy of testdata file src as dir/name (dir made here), open for writing
 * damage into it. */
static int open_copy(char *dir, char *path, size_t len, const char *src, const char *name)
{
	int fd;

	make_dir(dir);
	snprintf(path, len, "%s/%s", dir, name);
	copy_file(td(src), path);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

/* Bytes this process has read so far (read, pread...): the kernel's count, not ours. */
static uint64_t bytes_read_by_us(void)
{
	unsigned long long rchar = 0;
	char line[128];
	FILE *f = fopen("/proc/self/io", "r");

	if (!f)
		skip();
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "rchar: %llu", &rchar) == 1)
			break;
	fclose(f);
	return rchar;
}

/* The section header of the first section of type shtype, read from the file. */
static off_t shdr_of(int fd, Elf64_Word shtype, Elf64_Shdr *sh)
{
	Elf64_Ehdr eh;
	off_t at;
	int i;

	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	for (i = 0; i < eh.e_shnum; i++) {
		at = (off_t)(eh.e_shoff + (uint64_t)i * sizeof(*sh));
		assert_int_equal(pread(fd, sh, sizeof(*sh), at), sizeof(*sh));
		if (sh->sh_type == shtype)
			return at;
	}
	fail_msg("no section of type %u", shtype);
	return -1;
}

/*
 * An executable whose .symtab claims 1 GiB, a hole made with ftruncate (a
 * sparse file costs its maker nothing). Looking its functions up must not
 * read that gigabyte: the kernel's count of the bytes we read says so.
 */
static void test_elf_syms_sparse_huge_symtab_is_not_read(void **state)
{
	const uint64_t huge = (1ull << 30) / sizeof(Elf64_Sym) * sizeof(Elf64_Sym);
	char dir[64], path[128];
	uint64_t off[NNAMES], before, spent;
	Elf64_Shdr sh;
	off_t at;
	size_t i;
	int fd;

	fd = open_copy(dir, path, sizeof(path), "fake_app", "hostile_app");
	at = shdr_of(fd, SHT_SYMTAB, &sh);
	sh.sh_offset = 1 << 20;
	sh.sh_size = huge;
	assert_int_equal(pwrite(fd, &sh, sizeof(sh), at), sizeof(sh));
	assert_int_equal(ftruncate(fd, (off_t)(sh.sh_offset + sh.sh_size)), 0);
	close(fd);

	memset(off, 0xa5, sizeof(off));
	before = bytes_read_by_us();
	assert_int_equal(elf_find_funcs(path, ssl_names, NNAMES, off), 0);
	spent = bytes_read_by_us() - before;
	/* The real file is 16 KB: a few reads of headers and small sections. */
	assert_true(spent < (1u << 20));
	for (i = 0; i < NNAMES; i++)
		assert_int_equal(off[i], 0);	/* the claimed table holds no symbols we believe */
	rm_dir(dir);
}

/* A symbol table of n functions named at offsets name_at(i) of strs, in a memfd; its index. */
static struct sym_index *index_of(const char *strs, size_t strsize, size_t n,
				  uint32_t (*name_at)(size_t))
{
	Elf64_Sym *syms = calloc(n, sizeof(*syms));
	struct sym_index *ix = NULL;
	int fd = memfd_create("symtab", MFD_CLOEXEC);
	size_t i;

	assert_non_null(syms);
	assert_true(fd >= 0);
	for (i = 0; i < n; i++)
		syms[i] = (Elf64_Sym){ .st_name = name_at(i), .st_value = 0x1000 + i, .st_shndx = 1,
				       .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC) };
	assert_int_equal(pwrite(fd, syms, n * sizeof(*syms), 0), (ssize_t)(n * sizeof(*syms)));
	assert_int_equal(pwrite(fd, strs, strsize, 1 << 20), (ssize_t)strsize);
	assert_int_equal(sym_index_build(&ix, fd, 0, n * sizeof(*syms), 1 << 20, strsize), 0);
	close(fd);
	free(syms);
	return ix;
}

/* "\0SSL_read\0" then a name of 256 'A's, then one of 257 'B's. */
static uint32_t three_names(size_t i)
{
	return i == 0 ? 1 : i == 1 ? 10 : 10 + 257;
}

/* Names longer than any looked up (256) are left out; up to 256 they are found. */
static void test_sym_index_names_longer_than_256_are_not_indexed(void **state)
{
	char strs[10 + 257 + 258], want[258];
	struct sym_index *ix;
	uint64_t v = 0;

	memset(strs, 0, sizeof(strs));
	memcpy(strs + 1, "SSL_read", 8);
	memset(strs + 10, 'A', 256);
	memset(strs + 10 + 257, 'B', 257);
	ix = index_of(strs, sizeof(strs), 3, three_names);
	assert_int_equal(sym_index_find(ix, "SSL_read", &v), 0);
	assert_int_equal(v, 0x1000);
	memset(want, 'A', 256);
	want[256] = '\0';
	assert_int_equal(sym_index_find(ix, want, &v), 0);
	assert_int_equal(v, 0x1001);
	memset(want, 'B', 257);
	want[257] = '\0';
	assert_int_equal(sym_index_find(ix, want, &v), -ENOENT);
	sym_index_free(ix);
}

/* Every symbol names a suffix of one 1 MB name (64 distinct ones). */
static uint32_t suffixes(size_t i)
{
	return 1 + (uint32_t)(i % 64);
}

/*
 * A hostile file of 1.1 MB: 4096 symbols all named by one name of 1 MB. Its
 * index costs the collector (whose loop also reads the rings) next to no
 * time: not one hash and compare of megabytes per symbol (seconds).
 */
static void test_sym_index_one_huge_name_costs_no_time(void **state)
{
	const size_t len = 1 << 20;
	char *strs = malloc(len + 2);
	struct sym_index *ix;
	clock_t t0;
	uint64_t v;

	assert_non_null(strs);
	strs[0] = '\0';
	memset(strs + 1, 'A', len);
	strs[len + 1] = '\0';
	t0 = clock();
	ix = index_of(strs, len + 2, 4096, suffixes);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
	assert_int_equal(sym_index_find(ix, "SSL_read", &v), -ENOENT);
	sym_index_free(ix);
	free(strs);
}

/* A section that claims bytes past the file's end is not read, and is counted as refused. */
static void test_elf_image_section_past_the_end_is_refused(void **state)
{
	char dir[64], path[128];
	struct elf_image *img;
	uint64_t vaddr;
	Elf64_Shdr sh;
	struct stat st;
	off_t at;
	int fd;

	fd = open_copy(dir, path, sizeof(path), "fake_ssl.so", "past_end.so");
	assert_int_equal(fstat(fd, &st), 0);
	at = shdr_of(fd, SHT_DYNSYM, &sh);
	sh.sh_size = (uint64_t)st.st_size - sh.sh_offset + sizeof(Elf64_Sym);
	sh.sh_size -= sh.sh_size % sizeof(Elf64_Sym);
	sh.sh_size += sizeof(Elf64_Sym);
	assert_true(sh.sh_offset + sh.sh_size > (uint64_t)st.st_size);
	assert_int_equal(pwrite(fd, &sh, sizeof(sh), at), sizeof(sh));
	close(fd);

	assert_int_equal(elf_image_open(&img, path), 0);
	/* .symtab still has it: only the damaged .dynsym is left out. */
	assert_int_equal(elf_image_func(img, "SSL_read", &vaddr), 0);
	assert_int_equal(elf_image_offset(img, vaddr), ref_offset(td("fake_ssl.so"), SHT_SYMTAB,
								 "SSL_read"));
	assert_true(elf_image_refused(img) >= 1);
	elf_image_close(img);
	rm_dir(dir);
}

/* Extended section numbering claiming 2^24 sections that the file cannot hold: not ELF to us. */
static void test_elf_image_huge_section_count_is_enoexec(void **state)
{
	char dir[64], path[128];
	struct elf_image *img;
	Elf64_Ehdr eh;
	Elf64_Shdr sh0;
	int fd;

	fd = open_copy(dir, path, sizeof(path), "fake_ssl.so", "many_sections.so");
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_int_equal(pread(fd, &sh0, sizeof(sh0), (off_t)eh.e_shoff), sizeof(sh0));
	eh.e_shnum = 0;
	sh0.sh_size = 1u << 24;
	assert_int_equal(pwrite(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_int_equal(pwrite(fd, &sh0, sizeof(sh0), (off_t)eh.e_shoff), sizeof(sh0));
	close(fd);

	assert_int_equal(elf_image_open(&img, path), -ENOEXEC);
	assert_null(img);
	rm_dir(dir);
}

/*
 * The file examined is the file probed: after the path is made to name
 * another file (renamed over it, as an attacker swaps what a path names
 * between tlstap's look and its attach), the target's attach path and
 * descriptor still lead to the inode that was parsed.
 */
static void test_targets_probe_the_inode_examined_not_the_path(void **state)
{
	struct target_list *tl = *state;
	char dir[64], path[128], other[128], orig_bytes[16], now_bytes[16];
	struct stat orig, swapped, via_attach, via_fd;
	uint64_t off;
	int fd;

	make_dir(dir);
	snprintf(path, sizeof(path), "%s/libssl.so.3", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	copy_file(td("fake_ssl.so"), path);
	assert_int_equal(stat(path, &orig), 0);
	assert_int_equal(targets_add_file(tl, path, "test", true), 1);
	assert_int_equal(tl->n, 1);

	copy_file(td("fake_ssl11.so"), other);
	assert_int_equal(rename(other, path), 0);
	assert_int_equal(stat(path, &swapped), 0);
	assert_int_not_equal(swapped.st_ino, orig.st_ino);

	assert_int_equal(stat(tl->v[0].attach_path, &via_attach), 0);
	assert_int_equal(via_attach.st_dev, orig.st_dev);
	assert_int_equal(via_attach.st_ino, orig.st_ino);
	assert_int_equal(fstat(tl->v[0].fd, &via_fd), 0);
	assert_int_equal(via_fd.st_ino, orig.st_ino);
	/* The code at SSL_read's offset, read through the attach path, is the original's. */
	off = ref_offset(td("fake_ssl.so"), SHT_DYNSYM, "SSL_read");
	fd = open(td("fake_ssl.so"), O_RDONLY);
	assert_int_equal(pread(fd, orig_bytes, sizeof(orig_bytes), (off_t)off), sizeof(orig_bytes));
	close(fd);
	fd = open(tl->v[0].attach_path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, now_bytes, sizeof(now_bytes), (off_t)off), sizeof(now_bytes));
	close(fd);
	assert_memory_equal(now_bytes, orig_bytes, sizeof(orig_bytes));
	rm_dir(dir);
}

/* --lib names may be links (libssl.so -> libssl.so.3): followed, and shown as named. */
static void test_targets_add_file_follows_a_link_it_is_given(void **state)
{
	struct target_list *tl = *state;
	char dir[64], link[128], abspath[4096];

	make_dir(dir);
	snprintf(link, sizeof(link), "%s/libssl.so.3", dir);
	assert_non_null(realpath(td("fake_ssl.so"), abspath));
	assert_int_equal(symlink(abspath, link), 0);
	assert_int_equal(targets_add_file(tl, link, "--lib", true), 1);
	assert_string_equal(tl->v[0].path, link);
	rm_dir(dir);
}

static void test_targets_free_closes_the_files(void **state)
{
	struct target_list *tl = *state;
	int fd;

	assert_int_equal(targets_add_file(tl, td("fake_ssl.so"), "test", true), 1);
	fd = tl->v[0].fd;
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	targets_free(tl);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

/* Names others choose reach --list-targets and -v escaped. */
static void test_targets_path_with_escape_codes_is_escaped(void **state)
{
	struct target_list *tl = *state;
	char dir[64], sub[128], path[160], want[256];

	make_dir(dir);
	snprintf(sub, sizeof(sub), "%s/x\x1b[31m\ny", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/libssl.so.3", sub);
	copy_file(td("fake_ssl.so"), path);
	assert_int_equal(targets_add_file(tl, path, "by \x07\xff", true), 1);
	snprintf(want, sizeof(want), "%s/x\\x1b[31m\\x0ay/libssl.so.3", dir);
	assert_string_equal(tl->v[0].path, want);
	assert_string_equal(tl->v[0].origin, "by \\x07\\xff");
	rm_dir(dir);
}

static void test_targets_mountinfo_network_and_fuse_are_remote(void **state)
{
	dev_t dev;
	bool remote;

	assert_int_equal(targets_mountinfo_line("36 35 254:0 / / rw,relatime shared:1 - ext4 /dev/root rw\n",
						&dev, &remote), 0);
	assert_int_equal(dev, makedev(254, 0));
	assert_false(remote);
	/* Optional fields, and a mount point with an escaped space. */
	assert_int_equal(targets_mountinfo_line("80 36 0:52 / /mnt/a\\040b rw shared:5 master:2 - "
						"fuse.sshfs u@h:/ rw,user_id=0\n", &dev, &remote), 0);
	assert_int_equal(dev, makedev(0, 52));
	assert_true(remote);
	assert_int_equal(targets_mountinfo_line("81 36 0:53 / /n rw - nfs4 srv:/x rw\n", &dev, &remote), 0);
	assert_true(remote);
	assert_int_equal(targets_mountinfo_line("82 36 0:54 / /o rw - overlay overlay rw\n", &dev, &remote), 0);
	assert_false(remote);
	assert_int_equal(targets_mountinfo_line("garbage\n", &dev, &remote), -EINVAL);
	assert_int_equal(targets_mountinfo_line("83 36 0:55 / /p rw\n", &dev, &remote), -EINVAL);
	assert_true(targets_fstype_is_remote("fuse"));
	assert_true(targets_fstype_is_remote("cifs"));
	assert_false(targets_fstype_is_remote("fusectl"));
	assert_false(targets_fstype_is_remote("tmpfs"));
}

/* The real search: succeeds, and every target it finds names, through its
 * attach path and its descriptor, the inode it recorded. */
static void test_targets_scan_system_targets_are_their_inodes(void **state)
{
	struct target_list *tl = *state;
	struct stat via_attach, via_fd;
	size_t i;

	assert_int_equal(targets_scan_system(tl), 0);
	for (i = 0; i < tl->n; i++) {
		assert_int_equal(stat(tl->v[i].attach_path, &via_attach), 0);
		assert_int_equal(fstat(tl->v[i].fd, &via_fd), 0);
		assert_int_equal(via_attach.st_dev, tl->v[i].dev);
		assert_int_equal(via_attach.st_ino, tl->v[i].ino);
		assert_int_equal(via_fd.st_ino, tl->v[i].ino);
	}
}

/* Out of time before it starts: the system-wide scan looks at nothing and says how much it left. */
static void test_targets_scan_system_stops_at_its_deadline(void **state)
{
	struct target_list *tl = *state;

	tl->scan_deadline_ms = 1;	/* long past on CLOCK_MONOTONIC */
	assert_int_equal(targets_scan_system(tl), 0);
	assert_int_equal(tl->n, 0);
	assert_int_equal(tl->nseen, 0);
	/* At least this process: its maps and its executable. */
	assert_true(tl->skipped_late >= 2);
}

#define TL_TEST(f)	cmocka_unit_test_setup_teardown(f, tl_setup, tl_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_syms_offsets_match_dynsym_file_offsets),
		cmocka_unit_test(test_elf_syms_offsets_point_at_the_loaded_code),
		cmocka_unit_test(test_elf_syms_exec_symtab_vaddr_converted_to_offset),
		cmocka_unit_test(test_elf_syms_stripped_lib_found_through_dynsym),
		cmocka_unit_test(test_elf_syms_absent_functions_are_zero),
		cmocka_unit_test(test_elf_syms_lookalike_symbols_are_not_matches),
		cmocka_unit_test(test_elf_syms_not_elf_is_enoexec),
		cmocka_unit_test(test_elf_syms_empty_file_is_enoexec),
		cmocka_unit_test(test_elf_syms_truncated_elf_is_enoexec),
		cmocka_unit_test(test_elf_syms_missing_file_is_enoent),
		cmocka_unit_test(test_elf_syms_directory_is_an_error),
		TL_TEST(test_targets_add_file_ssl_lib_is_one_target),
		TL_TEST(test_targets_add_file_without_ex_is_target),
		TL_TEST(test_targets_add_file_strict_errors),
		TL_TEST(test_targets_add_file_strict_error_same_on_second_call),
		TL_TEST(test_targets_add_file_lenient_errors_are_zero),
		TL_TEST(test_targets_add_file_same_file_twice_is_one_target),
		cmocka_unit_test(test_elf_syms_sparse_huge_symtab_is_not_read),
		cmocka_unit_test(test_sym_index_names_longer_than_256_are_not_indexed),
		cmocka_unit_test(test_sym_index_one_huge_name_costs_no_time),
		cmocka_unit_test(test_elf_image_section_past_the_end_is_refused),
		cmocka_unit_test(test_elf_image_huge_section_count_is_enoexec),
		TL_TEST(test_targets_probe_the_inode_examined_not_the_path),
		TL_TEST(test_targets_add_file_follows_a_link_it_is_given),
		TL_TEST(test_targets_free_closes_the_files),
		TL_TEST(test_targets_path_with_escape_codes_is_escaped),
		cmocka_unit_test(test_targets_mountinfo_network_and_fuse_are_remote),
		TL_TEST(test_targets_scan_system_targets_are_their_inodes),
		TL_TEST(test_targets_scan_system_stops_at_its_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
