/* The tests before capture: every library's guards well-formed, and the table the BPF side reads by func_id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "probe_guards.h"
#include "probe_table.h"

static void test_probe_guards_are_well_formed(void **state)
{
	const struct tls_func *f;
	int l, fi;

	for (l = 0; l < tls_libs_n; l++) {
		for (fi = 0; fi < tls_libs[l]->nfuncs; fi++) {
			f = &tls_libs[l]->funcs[fi];
			assert_true(f->buf_kind == TLSTAP_BUF_FLAT || f->buf_kind == TLSTAP_BUF_IOVEC);
			assert_true(f->guard.back_ref <= 1);
			/* Pointers are read at both offsets: aligned, inside a struct. */
			assert_int_equal(f->guard.priv_off % 8, 0);
			assert_int_equal(f->guard.back_off % 8, 0);
			assert_true(f->guard.priv_off < 4096 && f->guard.back_off < 4096);
			if (!f->guard.back_ref)
				assert_true(f->guard.priv_off == 0 && f->guard.back_off == 0);
			/* A flags argument, none of the others, with bits to test. */
			assert_true(f->guard.skip_arg <= TLSTAP_MAX_ARG);
			assert_true(!f->guard.skip_arg == !f->guard.skip_mask);
			if (f->guard.skip_arg)
				assert_true(f->guard.skip_arg != f->session_arg &&
					    f->guard.skip_arg != f->buf_arg &&
					    f->guard.skip_arg != f->len_arg &&
					    f->guard.skip_arg != f->outlen_arg);
		}
	}
}

static struct tlstap_guard guard_of(const uint64_t *g, const char *lib, const char *func)
{
	int l = probe_lib_by_name(lib), fi;
	struct tlstap_guard out;

	assert_true(l >= 0);
	fi = tls_lib_func(tls_libs[l], func, -1);
	assert_true(fi >= 0);
	memcpy(&out, &g[probe_func_id(l, fi)], sizeof(out));
	return out;
}

static void test_probe_guards_fill_by_func_id(void **state)
{
	uint64_t g[TLSTAP_FUNC_IDS];
	struct tlstap_guard one;
	const char *nss_funcs[] = { "PR_Write", "PR_Send", "PR_Writev", "PR_Read", "PR_Recv" };
	size_t i;

	memset(g, 0xa5, sizeof(g));
	probe_guards_fill(g, TLSTAP_FUNC_IDS);
	/* Libraries whose probed functions move only TLS plaintext: no test. */
	assert_int_equal(g[probe_func_id_by_name("SSL_write")], 0);
	assert_int_equal(g[probe_func_id_by_name("gnutls_record_recv")], 0);
	/* No function, no test. */
	assert_int_equal(g[PROBE_FUNC_NONE], 0);
	/* NSS: only a descriptor whose top layer is SSL (sslSocket.fd points back). */
	for (i = 0; i < sizeof(nss_funcs) / sizeof(nss_funcs[0]); i++) {
		one = guard_of(g, "nss", nss_funcs[i]);
		assert_int_equal(one.back_ref, 1);
		assert_int_equal(one.priv_off, 8);	/* PRFileDesc.secret */
		assert_int_equal(one.back_off, 0);	/* sslSocket.fd */
	}
	/* A peek leaves the bytes for the next read: not captured twice. */
	one = guard_of(g, "nss", "PR_Recv");
	assert_int_equal(one.skip_arg, 4);
	assert_int_equal(one.skip_mask, 0x2);
	assert_int_equal(guard_of(g, "nss", "PR_Read").skip_arg, 0);
	/* A short table is filled as far as it goes. */
	memset(g, 0xa5, sizeof(g));
	probe_guards_fill(g, 1);
	assert_int_equal(g[0], 0);
	assert_int_equal(g[1], 0xa5a5a5a5a5a5a5a5ull);
}

/* PR_Writev's buffer is a vector: its cookie says so; flat buffers are kind 0. */
static void test_probe_cookie_buffer_kind(void **state)
{
	struct tlstap_cookie ck;
	uint64_t raw;
	int l = probe_lib_by_name("nss");

	raw = probe_cookie(l, tls_lib_func(tls_libs[l], "PR_Writev", -1));
	memcpy(&ck, &raw, sizeof(ck));
	assert_int_equal(ck.buf_kind, TLSTAP_BUF_IOVEC);
	raw = probe_cookie(l, tls_lib_func(tls_libs[l], "PR_Write", -1));
	memcpy(&ck, &raw, sizeof(ck));
	assert_int_equal(ck.buf_kind, TLSTAP_BUF_FLAT);
	raw = probe_cookie(0, 0);
	memcpy(&ck, &raw, sizeof(ck));
	assert_int_equal(ck.buf_kind, TLSTAP_BUF_FLAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_guards_are_well_formed),
		cmocka_unit_test(test_probe_guards_fill_by_func_id),
		cmocka_unit_test(test_probe_cookie_buffer_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
