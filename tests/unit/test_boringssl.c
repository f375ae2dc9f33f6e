/* BoringSSL told apart from OpenSSL (both are libssl.so with SSL_read/SSL_write): on fixtures and on the real libraries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "tlstap.h"
#include "probe_table.h"
#include "targets.h"

/* Debian's android-libboringssl and libssl3 (test dependencies). */
#define ANDROID_LIBSSL	"/usr/lib/x86_64-linux-gnu/android/libssl.so.0"
#define ANDROID_LIBCRYPTO "/usr/lib/x86_64-linux-gnu/android/libcrypto.so.0"
#define SYSTEM_LIBSSL	"/usr/lib/x86_64-linux-gnu/libssl.so.3"

static char fixture[4096];

/* testdata/elf/name, from the repository root or $TLSTAP_TESTDATA. */
static const char *elf_fixture(const char *name)
{
	const char *root = getenv("TLSTAP_TESTDATA");

	snprintf(fixture, sizeof(fixture), "%s/elf/%s", root && *root ? root : "testdata", name);
	return fixture;
}

/* path becomes exactly one target, of library want, with both functions placed. */
static const struct target *one_target(const char *path, const char *want)
{
	struct target_list tl = { .mode = PROBE_AUTO };
	static struct target got;
	const struct tls_lib *l;
	int fi;

	assert_int_equal(targets_add_file(&tl, path, "test", true), 1);
	assert_int_equal(tl.n, 1);
	got = tl.v[0];
	l = tls_libs[got.lib];
	assert_string_equal(l->name, want);
	fi = tls_lib_func(l, "SSL_read", -1);
	assert_true(fi >= 0);
	/* Placement may move OpenSSL's probes inside: one read point at least. */
	if (!strcmp(want, "boringssl")) {
		assert_true(got.pts.offsets[fi] != 0);
		assert_true(got.pts.offsets[tls_lib_func(l, "SSL_write", -1)] != 0);
		assert_string_equal(got.pts.placement, "exported functions");
	}
	targets_free(&tl);
	return &got;
}

static void skip_without(const char *path)
{
	if (access(path, R_OK)) {
		print_message("%s missing: deploy/install-deps.sh test installs it\n", path);
		skip();
	}
}

static void test_boringssl_fixture_library(void **state)
{
	const struct target *t = one_target(elf_fixture("fake_boringssl.so"), "boringssl");

	assert_string_equal(t->pts.version, "BoringSSL (SSL_CTX_set_grease_enabled)");
}

/* Like node's static OpenSSL: found by the executable's .symtab (scan_exe
 * takes the same path through targets.c). */
static void test_boringssl_fixture_static_executable(void **state)
{
	const struct target *t = one_target(elf_fixture("fake_boring_app"), "boringssl");

	assert_string_equal(t->pts.version, "BoringSSL (CRYPTO_BUFFER_free)");
}

/* Without a mark it stays OpenSSL, never both. */
static void test_boringssl_openssl_fixtures_stay_openssl(void **state)
{
	one_target(elf_fixture("fake_ssl.so"), "openssl");
	one_target(elf_fixture("fake_app"), "openssl");
}

static void test_boringssl_real_android_libssl(void **state)
{
	struct target_list tl = {};
	const struct target *t;

	skip_without(ANDROID_LIBSSL);
	t = one_target(ANDROID_LIBSSL, "boringssl");
	assert_string_equal(t->pts.version, "BoringSSL (SSL_CTX_set_grease_enabled)");
	/* Its libcrypto has neither function: not a target. */
	assert_int_equal(targets_add_file(&tl, ANDROID_LIBCRYPTO, "test", true), -ENOENT);
	assert_int_equal(tl.n, 0);
	targets_free(&tl);
}

static void test_boringssl_real_openssl_libssl(void **state)
{
	struct target_list tl = { .mode = PROBE_EXPORTED };
	const struct tls_lib *l;

	skip_without(SYSTEM_LIBSSL);
	one_target(SYSTEM_LIBSSL, "openssl");
	/* Exported placement too: OpenSSL's four functions, not BoringSSL's two. */
	assert_int_equal(targets_add_file(&tl, SYSTEM_LIBSSL, "test", true), 1);
	assert_int_equal(tl.n, 1);
	l = tls_libs[tl.v[0].lib];
	assert_string_equal(l->name, "openssl");
	assert_true(tl.v[0].pts.offsets[tls_lib_func(l, "SSL_read_ex", -1)] != 0);
	targets_free(&tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boringssl_fixture_library),
		cmocka_unit_test(test_boringssl_fixture_static_executable),
		cmocka_unit_test(test_boringssl_openssl_fixtures_stay_openssl),
		cmocka_unit_test(test_boringssl_real_android_libssl),
		cmocka_unit_test(test_boringssl_real_openssl_libssl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
