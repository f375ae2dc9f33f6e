/* The TLS library table: every entry well-formed, func_ids and cookies that round-trip, joined names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "probe_table.h"

static bool arg_ok(int a)
{
	return a >= 1 && a <= TLSTAP_MAX_ARG;
}

static void test_tls_libs_entries_are_named_once(void **state)
{
	const struct tls_lib *l;
	int i, j;

	assert_true(tls_libs_n >= 1);
	for (i = 0; i < tls_libs_n; i++) {
		l = tls_libs[i];
		assert_non_null(l->name);
		assert_non_null(l->display);
		assert_true(l->name[0] && l->display[0]);
		/* Outputs and pcapng comments carry the name in a key=value list. */
		assert_null(strpbrk(l->name, " =\t\n"));
		assert_non_null(l->file_prefixes);
		/* Found by file name, or in any executable by find(). */
		if (l->find)
			assert_null(l->file_prefixes[0]);
		else
			assert_non_null(l->file_prefixes[0]);
		assert_true(!l->at_rets || l->find);
		assert_non_null(l->file_desc);
		assert_non_null(l->funcs_desc);
		assert_non_null(l->help);
		assert_non_null(l->detect);
		assert_int_equal(probe_lib_by_name(l->name), i);
		for (j = 0; j < i; j++) {
			assert_string_not_equal(tls_libs[j]->name, l->name);
			assert_string_not_equal(tls_libs[j]->display, l->display);
		}
	}
	assert_int_equal(probe_lib_by_name("no-such-library"), -1);
}

static void check_func(const struct tls_lib *l, const struct tls_func *f)
{
	assert_non_null(f->name);
	assert_true(f->name[0]);
	assert_true(f->dir == TLSTAP_DIR_OUT || f->dir == TLSTAP_DIR_IN);
	assert_true(f->kind == TLS_FUNC_REQUIRED || f->kind == TLS_FUNC_OPTIONAL ||
		    f->kind == TLS_FUNC_INTERNAL);
	assert_true(arg_ok(f->session_arg) && arg_ok(f->buf_arg) && arg_ok(f->len_arg));
	assert_true(f->session_arg != f->buf_arg && f->session_arg != f->len_arg &&
		    f->buf_arg != f->len_arg);
	switch (f->result) {
	case TLSTAP_RES_OUTLEN:
		assert_true(arg_ok(f->outlen_arg));
		assert_true(f->outlen_arg != f->session_arg && f->outlen_arg != f->buf_arg &&
			    f->outlen_arg != f->len_arg);
		break;
	case TLSTAP_RES_COUNT:
	case TLSTAP_RES_SSIZE:
		assert_int_equal(f->outlen_arg, 0);
		break;
	default:
		fail_msg("%s %s: result kind %d", l->name, f->name, f->result);
	}
	/* Only the library's place() can find an internal function. */
	if (f->kind == TLS_FUNC_INTERNAL)
		assert_non_null(l->place);
}

static void test_tls_libs_functions_are_well_formed(void **state)
{
	const struct tls_lib *l;
	int i, fi, fj, required[2];

	for (i = 0; i < tls_libs_n; i++) {
		l = tls_libs[i];
		assert_true(l->nfuncs >= 1 && l->nfuncs <= TLS_LIB_MAX_FUNCS);
		required[0] = required[1] = 0;
		for (fi = 0; fi < l->nfuncs; fi++) {
			check_func(l, &l->funcs[fi]);
			if (l->funcs[fi].kind == TLS_FUNC_REQUIRED)
				required[l->funcs[fi].dir]++;
			/* Rows sharing a name are told apart by where the count goes. */
			for (fj = 0; fj < fi; fj++)
				if (!strcmp(l->funcs[fj].name, l->funcs[fi].name))
					assert_int_not_equal(l->funcs[fj].outlen_arg,
							     l->funcs[fi].outlen_arg);
			assert_int_equal(tls_lib_func(l, l->funcs[fi].name, l->funcs[fi].outlen_arg), fi);
		}
		/* A file is this library only if it can both send and receive. */
		assert_true(required[TLSTAP_DIR_OUT] >= 1);
		assert_true(required[TLSTAP_DIR_IN] >= 1);
	}
}

/* The index of the first library with a function called name, or -1. */
static int first_lib_with(const char *name)
{
	int l;

	for (l = 0; l < tls_libs_n; l++)
		if (tls_lib_func(tls_libs[l], name, -1) >= 0)
			return l;
	return -1;
}

static void test_tls_libs_func_ids_and_cookies_round_trip(void **state)
{
	const struct tls_func *f;
	struct tlstap_cookie ck;
	uint64_t raw;
	uint8_t id;
	int i, fi, lib;

	for (i = 0; i < tls_libs_n; i++) {
		for (fi = 0; fi < tls_libs[i]->nfuncs; fi++) {
			id = probe_func_id(i, fi);
			assert_int_not_equal(id, PROBE_FUNC_NONE);
			assert_ptr_equal(probe_func(id, &lib), &tls_libs[i]->funcs[fi]);
			assert_int_equal(lib, i);
			assert_string_equal(probe_func_name(id), tls_libs[i]->funcs[fi].name);
			assert_string_equal(probe_func_lib_name(id), tls_libs[i]->name);
			/* By name: the first row of that name, in the first library
			 * that has one (BoringSSL's SSL_read is OpenSSL's name). */
			f = probe_func(probe_func_id_by_name(tls_libs[i]->funcs[fi].name), &lib);
			assert_non_null(f);
			assert_string_equal(f->name, tls_libs[i]->funcs[fi].name);
			assert_int_equal(lib, first_lib_with(tls_libs[i]->funcs[fi].name));
			assert_true(lib <= i);
			raw = probe_cookie(i, fi);
			memcpy(&ck, &raw, sizeof(ck));
			f = &tls_libs[i]->funcs[fi];
			assert_int_equal(ck.func_id, id);
			assert_int_equal(ck.dir, f->dir);
			assert_int_equal(ck.session_arg, f->session_arg);
			assert_int_equal(ck.buf_arg, f->buf_arg);
			assert_int_equal(ck.len_arg, f->len_arg);
			assert_int_equal(ck.outlen_arg, f->outlen_arg);
			assert_int_equal(ck.result, f->result);
		}
		/* Past the library's last function: no function. */
		if (tls_libs[i]->nfuncs < TLS_LIB_MAX_FUNCS)
			assert_null(probe_func(probe_func_id(i, tls_libs[i]->nfuncs), NULL));
	}
	assert_null(probe_func(PROBE_FUNC_NONE, NULL));
	assert_string_equal(probe_func_name(PROBE_FUNC_NONE), "?");
	assert_string_equal(probe_func_lib_name(PROBE_FUNC_NONE), "?");
	assert_int_equal(probe_func_id_by_name("no_such_function"), PROBE_FUNC_NONE);
}

/* Other tests build events with func_id 0 and 1 and expect these names. */
static void test_tls_libs_first_ids_are_ssl_write_and_ssl_read(void **state)
{
	assert_string_equal(probe_func_name(0), "SSL_write");
	assert_string_equal(probe_func_name(1), "SSL_read");
	assert_string_equal(probe_func_lib_name(0), "openssl");
}

static void test_tls_libs_join_lists_every_library(void **state)
{
	char got[1024], want[1024] = "";
	size_t n = 0;
	int i;

	for (i = 0; i < tls_libs_n; i++)
		n += snprintf(want + n, sizeof(want) - n, "%s%s",
			      i == 0 ? "" : i == tls_libs_n - 1 ? " or " : ", ", tls_libs[i]->display);
	probe_libs_join(got, sizeof(got), offsetof(struct tls_lib, display), ", ", " or ");
	assert_string_equal(got, want);
	/* Cut to the buffer, still a string. */
	probe_libs_join(got, 4, offsetof(struct tls_lib, display), ", ", " or ");
	assert_int_equal(strlen(got), 3);
}

static void test_tls_libs_file_names(void **state)
{
	char name[256];
	int i;

	for (i = 0; i < tls_libs_n; i++) {
		if (!tls_libs[i]->file_prefixes[0])
			continue;	/* found in executables by find() */
		snprintf(name, sizeof(name), "%s.3", tls_libs[i]->file_prefixes[0]);
		assert_true(probe_libs_file_name(name));
	}
	assert_false(probe_libs_file_name("libc.so.6"));
	assert_false(probe_libs_file_name(""));
}

/* An entry that shadows another is told apart only by its marks: it needs
 * some, and the other must be in the table with none of them required. */
static void test_tls_libs_shadows_are_marked(void **state)
{
	const struct tls_lib *l;
	const char *const *m;
	int i, shadowed;

	for (i = 0; i < tls_libs_n; i++) {
		l = tls_libs[i];
		if (l->marks)
			assert_non_null(l->marks[0]);
		if (!l->shadows)
			continue;
		assert_non_null(l->marks);
		assert_ptr_not_equal(l->shadows, l);
		shadowed = probe_lib_by_name(l->shadows->name);
		assert_true(shadowed >= 0);
		assert_ptr_equal(tls_libs[shadowed], l->shadows);
		for (m = l->marks; *m; m++)
			assert_int_equal(tls_lib_func(l->shadows, *m, -1), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_libs_entries_are_named_once),
		cmocka_unit_test(test_tls_libs_functions_are_well_formed),
		cmocka_unit_test(test_tls_libs_func_ids_and_cookies_round_trip),
		cmocka_unit_test(test_tls_libs_first_ids_are_ssl_write_and_ssl_read),
		cmocka_unit_test(test_tls_libs_join_lists_every_library),
		cmocka_unit_test(test_tls_libs_file_names),
		cmocka_unit_test(test_tls_libs_shadows_are_marked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
