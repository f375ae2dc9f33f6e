/* Probe placement decisions on function bytes recorded from real libraries (testdata/placement). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "openssl.h"
#include "placement.h"

#define MAX_BLOBS 16

/* A fake address space: code blobs at their recorded addresses. */
struct space {
	struct blob {
		uint64_t vaddr;
		uint8_t code[512];
		size_t len;
	} b[MAX_BLOBS];
	int n;
};

static const char *testdata(void)
{
	const char *d = getenv("TLSTAP_TESTDATA");

	return d ? d : "testdata";
}

static void load(struct space *s, const char *set, uint64_t vaddr)
{
	char path[512];
	FILE *f;

	assert_true(s->n < MAX_BLOBS);
	snprintf(path, sizeof(path), "%s/placement/%s/%llx.bin", testdata(), set,
		 (unsigned long long)vaddr);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("missing %s (run testdata/placement/regen.py)", path);
	s->b[s->n].vaddr = vaddr;
	s->b[s->n].len = fread(s->b[s->n].code, 1, sizeof(s->b[s->n].code), f);
	fclose(f);
	assert_true(s->b[s->n].len > 16);
	s->n++;
}

static struct blob *find(struct space *s, uint64_t vaddr)
{
	struct blob *b = s->b, *end = s->b + s->n;

	while (b < end && b->vaddr != vaddr)
		b++;
	return b < end ? b : NULL;
}

static int reader(void *ctx, uint64_t vaddr, uint8_t *buf, size_t len)
{
	struct space *s = ctx;
	struct blob *exact = find(s, vaddr);
	int i;

	/* Recorded blobs overlap (512 bytes each): the one recorded at the
	 * address wins, so a test's change to it is what is read. */
	if (exact) {
		if (len > exact->len)
			len = exact->len;
		memcpy(buf, exact->code, len);
		return (int)len;
	}
	for (i = 0; i < s->n; i++) {
		if (vaddr >= s->b[i].vaddr && vaddr < s->b[i].vaddr + s->b[i].len) {
			size_t off = vaddr - s->b[i].vaddr, n = s->b[i].len - off;

			if (n > len)
				n = len;
			memcpy(buf, s->b[i].code + off, n);
			return (int)n;
		}
	}
	return -ENOENT;
}

/* Debian 12's libssl3 3.0.19: addresses from `nm -D` (symbols.txt). */
static const uint64_t ossl_wrappers[WRAP_N] = { 0x35470, 0x35500, 0x359c0, 0x35a50 };
/* The targets of their first calls, as objdump shows them. */
#define OSSL_READ_INTERNAL	0x352d0
#define OSSL_WRITE_INTERNAL	0x355e0

static void load_openssl(struct space *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < WRAP_N; i++)
		load(s, "openssl-3.0.19", ossl_wrappers[i]);
	load(s, "openssl-3.0.19", OSSL_READ_INTERNAL);
	load(s, "openssl-3.0.19", OSSL_WRITE_INTERNAL);
}

/* OpenSSL 3.0.19's recorded code, placed as if it were of release line `line`. */
static struct placement placed(struct space *s, enum ossl_line line)
{
	struct placement p;

	load_openssl(s);
	placement_openssl(line, ossl_wrappers, reader, s, &p);
	return p;
}

static void test_placement_agreeing_wrappers_choose_internal(void **state)
{
	struct space s;
	struct placement p = placed(&s, OSSL_LINE_3_0);

	assert_true(p.internal);
	assert_int_equal(p.read_vaddr, OSSL_READ_INTERNAL);
	assert_int_equal(p.write_vaddr, OSSL_WRITE_INTERNAL);
	assert_int_equal(p.write_outlen_arg, 4);
	assert_non_null(strstr(p.why, "internal"));
}

static void test_placement_first_call_is_the_internal_function(void **state)
{
	struct space s;
	uint64_t t;
	int i;

	load_openssl(&s);
	for (i = 0; i < WRAP_N; i++) {
		struct blob *b = find(&s, ossl_wrappers[i]);

		assert_int_equal(placement_first_call(b->code, b->len, b->vaddr, &t), 0);
		assert_int_equal(t, i < WRAP_SSL_WRITE ? OSSL_READ_INTERNAL : OSSL_WRITE_INTERNAL);
	}
}

static void test_placement_3_3_takes_written_as_fifth_argument(void **state)
{
	struct space s;

	assert_true(placed(&s, OSSL_LINE_3_3_PLUS).internal);
	assert_int_equal(placed(&s, OSSL_LINE_3_3_PLUS).write_outlen_arg, 5);
}

static void test_placement_unknown_or_unchecked_version_falls_back(void **state)
{
	struct space s;

	assert_non_null(strstr(placed(&s, OSSL_LINE_UNKNOWN).why, "unknown"));
	assert_false(placed(&s, OSSL_LINE_UNKNOWN).internal);
	assert_false(placed(&s, OSSL_LINE_3_2).internal);
}

static void test_placement_disagreeing_wrappers_fall_back(void **state)
{
	struct space s;
	struct placement p;
	struct blob *rd_ex, *wr_ex;

	load_openssl(&s);
	/* SSL_read_ex's bytes now hold SSL_write_ex's code: its call, relative
	 * to another address, lands elsewhere than SSL_read's. */
	rd_ex = find(&s, ossl_wrappers[WRAP_SSL_READ_EX]);
	wr_ex = find(&s, ossl_wrappers[WRAP_SSL_WRITE_EX]);
	memcpy(rd_ex->code, wr_ex->code, sizeof(rd_ex->code));
	placement_openssl(OSSL_LINE_3_0, ossl_wrappers, reader, &s, &p);
	assert_false(p.internal);
	assert_non_null(strstr(p.why, "different"));
}

static void test_placement_expensive_first_instruction_falls_back(void **state)
{
	static const uint8_t sub_rsp[] = { 0x48, 0x83, 0xec, 0x18 };	/* sub $0x18,%rsp */
	struct space s;
	struct placement p;

	load_openssl(&s);
	memcpy(find(&s, OSSL_WRITE_INTERNAL)->code, sub_rsp, sizeof(sub_rsp));
	placement_openssl(OSSL_LINE_3_0, ossl_wrappers, reader, &s, &p);
	assert_false(p.internal);
	assert_non_null(strstr(p.why, "single-steps"));
}

static void test_placement_endbr64_is_skipped_to_the_push(void **state)
{
	static const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x57, 0x41, 0x56 };
	static const uint8_t lone_endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x18 };
	uint64_t at = 0;

	assert_int_equal(placement_cheap_entry(code, sizeof(code), 0x1000, &at), 0);
	assert_int_equal(at, 0x1004);
	assert_int_equal(placement_cheap_entry(lone_endbr, sizeof(lone_endbr), 0x1000, &at), -EINVAL);
}

static void test_placement_missing_wrapper_falls_back(void **state)
{
	uint64_t w[WRAP_N];
	struct space s;
	struct placement p;

	load_openssl(&s);
	memcpy(w, ossl_wrappers, sizeof(w));
	w[WRAP_SSL_WRITE_EX] = 0;	/* OpenSSL 1.1.0 has no _ex functions */
	placement_openssl(OSSL_LINE_1_1_1, w, reader, &s, &p);
	assert_false(p.internal);
	assert_non_null(strstr(p.why, "SSL_write_ex"));
}

static void test_placement_inlined_internals_fall_back(void **state)
{
	/* node 20: the internal functions are inlined; every wrapper's first
	 * call is the same helper (ossl_statem_check_finish_init). */
	static const uint64_t w[WRAP_N] = { 0x1a6b180, 0x1a6b340, 0x1a6b940, 0x1a6bb20 };
	struct space s = { .n = 0 };
	struct placement p;
	int i;

	for (i = 0; i < WRAP_N; i++)
		load(&s, "node-20", w[i]);
	placement_openssl(OSSL_LINE_3_0, w, reader, &s, &p);
	assert_false(p.internal);
}

static void test_placement_gnutls_send_tail_jumps_through_plt(void **state)
{
	struct space s = { .n = 0 };
	struct blob *send, *stub;
	uint64_t target = 0, slot = 0;

	load(&s, "gnutls-3.7.9", 0x3f2d0);	/* gnutls_record_send */
	load(&s, "gnutls-3.7.9", 0x38f60);	/* its jump target: a PLT stub */
	load(&s, "gnutls-3.7.9", 0x3ee70);	/* gnutls_record_send2 */
	send = find(&s, 0x3f2d0);
	assert_int_equal(placement_tail_jump(send->code, send->len, send->vaddr, &target), 0);
	assert_int_equal(target, 0x38f60);
	stub = find(&s, 0x38f60);
	assert_int_equal(placement_plt_slot(stub->code, stub->len, stub->vaddr, &slot), 0);
	assert_true(slot != 0);
	/* send2 itself does real work: it is no tail jump. */
	assert_int_equal(placement_tail_jump(find(&s, 0x3ee70)->code, 512, 0x3ee70, &target), -ENOENT);
}

static void test_placement_first_call_needs_a_direct_call(void **state)
{
	static const uint8_t no_call[] = { 0x31, 0xc0, 0xc3 };		/* xor %eax,%eax; ret */
	static const uint8_t indirect[] = { 0xff, 0xd0, 0xc3 };		/* call *%rax; ret */
	uint64_t t;

	assert_int_equal(placement_first_call(no_call, sizeof(no_call), 0x1000, &t), -ENOENT);
	assert_int_equal(placement_first_call(indirect, sizeof(indirect), 0x1000, &t), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placement_agreeing_wrappers_choose_internal),
		cmocka_unit_test(test_placement_first_call_is_the_internal_function),
		cmocka_unit_test(test_placement_3_3_takes_written_as_fifth_argument),
		cmocka_unit_test(test_placement_unknown_or_unchecked_version_falls_back),
		cmocka_unit_test(test_placement_disagreeing_wrappers_fall_back),
		cmocka_unit_test(test_placement_expensive_first_instruction_falls_back),
		cmocka_unit_test(test_placement_endbr64_is_skipped_to_the_push),
		cmocka_unit_test(test_placement_missing_wrapper_falls_back),
		cmocka_unit_test(test_placement_inlined_internals_fall_back),
		cmocka_unit_test(test_placement_gnutls_send_tail_jumps_through_plt),
		cmocka_unit_test(test_placement_first_call_needs_a_direct_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
