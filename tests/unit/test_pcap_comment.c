/* Unit tests of the pcapng comment codec: every key read back, unknown libraries and functions refused, hostile values encoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "cgroup_cache.h"
#include "pcap_comment.h"
#include "probe_table.h"

#define SAMPLE_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SAMPLE_POD "5d2b1f3c-8e7a-4b6d-9c0e-1f2a3b4c5d6e"

/* A function id by name, found through the table's own accessor. */
static __u8 func_id(const char *name)
{
	int id;

	for (id = 0; id < 255; id++)
		if (!strcmp(probe_func_name((__u8)id), name))
			return (__u8)id;
	fail_msg("no probe function %s", name);
	return 255;
}

static int parse_data(const char *comment);

/* Every field a data comment carries, each at a value that tells it apart (most at their limit). */
static struct tlstap_data_event sample_event(void)
{
	struct tlstap_data_event ev = {
		.type = TLSTAP_EV_DATA,
		.pid = 4294967295u,
		.tid = 7,
		.uid = 1000,
		.func_id = func_id("gnutls_record_recv"),
		.conn_id = UINT64_MAX,
		.fd = -2147483647 - 1,
		.dir = TLSTAP_DIR_IN,
		.pos = 1ull << 62,
		.len = TLSTAP_CHUNK_MAX,
		.lost = 1ull << 60,
		.skipped = (1ull << 60) - 1,
		.addr.family = AF_INET6,
		.netns = UINT32_MAX,
		.cgroup_id = UINT64_MAX,
	};
	struct container_info ci = { .runtime = CTR_CONTAINERD, .id = SAMPLE_ID, .pod_uid = SAMPLE_POD };

	memcpy(ev.comm, "0123456789abcdef", TLSTAP_COMM_LEN);	/* all 16 bytes, no NUL */
	/* What the live run resolved the cgroup id to. */
	cgroup_cache_put(ev.cgroup_id, &ci);
	return ev;
}

/* As tlstap wrote it before containers (issue 14): the keys it lacks read as none. */
#define OLD_TEXT \
	"tlstap data pid=4294967295 tid=7 uid=1000 comm=0123456789abcdef lib=gnutls " \
	"func=gnutls_record_recv conn=18446744073709551615 fd=-2147483648 dir=in " \
	"pos=4611686018427387904 len=16384 lost=1152921504606846976 " \
	"skipped=1152921504606846975 addr=known"
static const char sample_text[] = OLD_TEXT " netns=4294967295 cgroup=18446744073709551615 "
	"container=containerd:" SAMPLE_ID " pod=" SAMPLE_POD;

static void test_pcap_comment_data_round_trip_of_every_key(void **state)
{
	struct tlstap_data_event ev = sample_event(), back;
	const struct container_info *ci;
	char buf[640];

	assert_int_equal(pcap_out_comment(buf, sizeof(buf), &ev), 0);
	assert_string_equal(buf, sample_text);
	memset(&back, 0x55, sizeof(back));
	assert_int_equal(pcap_out_parse_comment(buf, &back), 0);
	assert_int_equal(back.type, TLSTAP_EV_DATA);
	assert_int_equal(back.pid, ev.pid);
	assert_int_equal(back.tid, ev.tid);
	assert_int_equal(back.uid, ev.uid);
	assert_memory_equal(back.comm, ev.comm, TLSTAP_COMM_LEN);
	assert_string_equal(probe_func_lib_name(back.func_id), "gnutls");
	assert_int_equal(back.func_id, ev.func_id);
	assert_true(back.conn_id == ev.conn_id);
	assert_int_equal(back.fd, ev.fd);
	assert_int_equal(back.dir, ev.dir);
	assert_true(back.pos == ev.pos);
	assert_int_equal(back.len, ev.len);
	assert_true(back.lost == ev.lost);
	assert_true(back.skipped == ev.skipped);
	/* Only whether the address was known: the caller takes it from the packet. */
	assert_int_equal(back.addr.family, 1);
	assert_int_equal(back.ts_ns, 0);
	assert_int_equal(back.flags, 0);
	assert_int_equal(back.netns, UINT32_MAX);
	assert_true(back.cgroup_id == UINT64_MAX);
	ci = cgroup_cache_get(back.cgroup_id, 0);
	assert_non_null(ci);
	assert_int_equal(ci->runtime, CTR_CONTAINERD);
	assert_string_equal(ci->id, SAMPLE_ID);
	assert_string_equal(ci->pod_uid, SAMPLE_POD);
}

/* -r reads what it learns of a cgroup back into the cache: a container
 * or none, and a file from before containers still reads. */
static void test_pcap_comment_container_keys(void **state)
{
	struct tlstap_data_event ev = sample_event(), back;
	char buf[640];

	assert_int_equal(pcap_out_parse_comment(OLD_TEXT, &back), 0);
	assert_int_equal(back.netns, 0);
	assert_true(back.cgroup_id == 0);
	assert_null(cgroup_cache_get(back.cgroup_id, 0));
	assert_int_equal(pcap_out_parse_comment(OLD_TEXT " netns=5 cgroup=77 container=- pod=-", &back), 0);
	assert_true(back.cgroup_id == 77);
	assert_null(cgroup_cache_get(77, 0));
	assert_int_equal(pcap_out_parse_comment(OLD_TEXT " netns=5 cgroup=78 container=docker:" SAMPLE_ID
						" pod=-", &back), 0);
	assert_int_equal(cgroup_cache_get(78, 0)->runtime, CTR_DOCKER);
	assert_string_equal(cgroup_cache_get(78, 0)->pod_uid, "");
	ev.cgroup_id = 78;
	assert_int_equal(pcap_out_comment(buf, sizeof(buf), &ev), 0);
	assert_non_null(strstr(buf, " cgroup=78 container=docker:" SAMPLE_ID " pod=-"));
	/* Malformed: unknown runtime, short or upper-case id, bad pod UID. */
	assert_int_equal(parse_data(OLD_TEXT " cgroup=1 container=rkt:" SAMPLE_ID " pod=-"), -EINVAL);
	assert_int_equal(parse_data(OLD_TEXT " cgroup=1 container=docker:abcd pod=-"), -EINVAL);
	assert_int_equal(parse_data(OLD_TEXT " cgroup=1 container=docker:"
				    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef pod=-"),
			 -EINVAL);
	assert_int_equal(parse_data(OLD_TEXT " cgroup=1 container=- pod=" SAMPLE_ID), -EINVAL);
	assert_int_equal(parse_data(OLD_TEXT " cgroup=1 container=docker pod=-"), -EINVAL);
}

static int parse_data(const char *comment)
{
	struct tlstap_data_event ev;

	return pcap_out_parse_comment(comment, &ev);
}

static int parse_close(const char *comment)
{
	struct tlstap_ctrl_event ev;

	return pcap_out_parse_close(comment, &ev);
}

/* Each key is read: the comment without it is refused. */
static void check_keys_required(const char *full, const char *const *keys, size_t n,
				int (*parse)(const char *))
{
	char cut[640], key[16];
	const char *p, *end;
	size_t i;

	assert_int_equal(parse(full), 0);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), " %s=", keys[i]);
		p = strstr(full, key);
		assert_non_null(p);
		end = strchr(p + 1, ' ');
		snprintf(cut, sizeof(cut), "%.*s%s", (int)(p - full), full, end ? end : "");
		assert_int_equal(parse(cut), -EINVAL);
	}
}

static void test_pcap_comment_every_key_is_required(void **state)
{
	static const char *const data_keys[] = { "pid", "tid", "uid", "comm", "lib", "func", "conn",
						 "fd", "dir", "pos", "len", "lost", "skipped", "addr" };
	static const char *const close_keys[] = { "conn", "pid", "reason", "out", "in" };
	struct tlstap_ctrl_event close_ev = { .type = TLSTAP_EV_CLOSE, .pid = 3, .conn_id = 9 };
	struct tlstap_data_event ev = sample_event();
	char full[640];

	assert_int_equal(pcap_out_comment(full, sizeof(full), &ev), 0);
	check_keys_required(full, data_keys, sizeof(data_keys) / sizeof(data_keys[0]), parse_data);
	assert_int_equal(pcap_out_close_comment(full, sizeof(full), &close_ev), 0);
	check_keys_required(full, close_keys, sizeof(close_keys) / sizeof(close_keys[0]), parse_close);
}

static void test_pcap_comment_close_round_trip(void **state)
{
	struct tlstap_ctrl_event ev = {
		.type = TLSTAP_EV_EXIT, .pid = 4242, .conn_id = 77, .end_pos = { 1ull << 62, 12345 },
	}, back;
	char buf[160];

	assert_int_equal(pcap_out_close_comment(buf, sizeof(buf), &ev), 0);
	assert_string_equal(buf, "tlstap close conn=77 pid=4242 reason=exit out=4611686018427387904 in=12345"
			    " netns=0 cgroup=0");
	assert_int_equal(pcap_out_parse_close(buf, &back), 0);
	assert_int_equal(back.type, TLSTAP_EV_EXIT);
	assert_int_equal(back.pid, 4242);
	assert_int_equal(back.conn_id, 77);
	assert_true(back.end_pos[0] == 1ull << 62);
	assert_int_equal(back.end_pos[1], 12345);
	ev.type = TLSTAP_EV_CLOSE;
	assert_int_equal(pcap_out_close_comment(buf, sizeof(buf), &ev), 0);
	assert_string_equal(buf, "tlstap close conn=77 pid=4242 reason=close out=4611686018427387904 in=12345"
			    " netns=0 cgroup=0");
	assert_int_equal(pcap_out_parse_close(buf, &back), 0);
	assert_int_equal(back.type, TLSTAP_EV_CLOSE);
	/* A data comment is not a close and the other way round. */
	assert_int_equal(pcap_out_parse_comment(buf, &(struct tlstap_data_event){ 0 }), -EINVAL);
	assert_int_equal(pcap_out_parse_close(sample_text, &back), -EINVAL);
}

/* The comment with lib=name func=func: the func_id it reads back as, or the error. */
static int parse_lib(const char *name, const char *func, __u8 *id)
{
	struct tlstap_data_event ev = { 0 };
	char buf[400];
	int err;

	snprintf(buf, sizeof(buf), "tlstap data pid=1 tid=1 uid=0 comm=x lib=%s func=%s conn=1 "
		 "fd=3 dir=in pos=0 len=1 lost=0 skipped=0 addr=unknown", name, func);
	err = pcap_out_parse_comment(buf, &ev);
	*id = ev.func_id;
	return err;
}

static void test_pcap_comment_unknown_lib_is_refused(void **state)
{
	__u8 id = 0;

	assert_int_equal(parse_lib("openssl", "SSL_read", &id), 0);
	assert_int_equal(id, func_id("SSL_read"));
	assert_string_equal(probe_func_lib_name(id), "openssl");
	assert_int_equal(parse_lib("gnutls", "gnutls_record_send", &id), 0);
	assert_int_equal(id, func_id("gnutls_record_send"));
	assert_string_equal(probe_func_lib_name(id), "gnutls");
	/* A function is looked up in the library named, never taken from another. */
	assert_int_equal(parse_lib("gnutls", "SSL_read", &id), -EINVAL);
	assert_int_equal(parse_lib("openssl", "SSL_nonesuch", &id), -EINVAL);
	/* BoringSSL's SSL_read is its own, not OpenSSL's of the same name. */
	assert_int_equal(parse_lib("boringssl", "SSL_read", &id), 0);
	assert_string_equal(probe_func_lib_name(id), "boringssl");
	assert_string_equal(probe_func_name(id), "SSL_read");
	assert_int_equal(parse_lib("boringssl", "SSL_read_ex", &id), -EINVAL);
	/* Once anything not "gnutls" became OpenSSL. */
	assert_int_equal(parse_lib("libressl", "SSL_read", &id), -EINVAL);
	assert_int_equal(parse_lib("OpenSSL", "SSL_read", &id), -EINVAL);
	assert_int_equal(parse_lib("?", "SSL_read", &id), -EINVAL);
	assert_int_equal(parse_lib("", "SSL_read", &id), -EINVAL);
}

/* A comm chosen by the traced process cannot forge keys, spaces or non-ASCII bytes. */
static void test_pcap_comment_hostile_comm_is_percent_encoded(void **state)
{
	static const char hostile[TLSTAP_COMM_LEN] = " pid=1 %zz\n\xff\x80=";
	struct tlstap_data_event ev = sample_event(), back;
	char buf[640], *comm;
	size_t i;

	memcpy(ev.comm, hostile, sizeof(hostile));
	assert_int_equal(pcap_out_comment(buf, sizeof(buf), &ev), 0);
	comm = strstr(buf, " comm=");
	assert_non_null(comm);
	assert_true(!strncmp(comm, " comm=%20pid%3D1%20%25zz%0A%FF%80%3D lib=", 41));
	for (i = 0; buf[i]; i++)
		assert_true(buf[i] > ' ' - 1 && buf[i] < 0x7f);
	assert_int_equal(pcap_out_parse_comment(buf, &back), 0);
	assert_int_equal(back.pid, ev.pid);
	/* The bytes up to the first NUL, NUL-padded: the kernel's comm. */
	assert_memory_equal(back.comm, hostile, TLSTAP_COMM_LEN);
	/* Broken escapes in a file are refused. */
	assert_int_equal(pcap_out_parse_comment("tlstap data pid=1 tid=1 uid=0 comm=%zz lib=openssl "
						"func=SSL_read conn=1 fd=3 dir=in pos=0 len=1 lost=0 "
						"skipped=0 addr=unknown", &back), -EINVAL);
	assert_int_equal(pcap_out_parse_comment("tlstap data pid=1 tid=1 uid=0 comm=a%4 lib=openssl "
						"func=SSL_read conn=1 fd=3 dir=in pos=0 len=1 lost=0 "
						"skipped=0 addr=unknown", &back), -EINVAL);
}

/* Numbers past a key's limit, signed or not decimal are refused. */
static void test_pcap_comment_numbers_out_of_range_are_refused(void **state)
{
	static const char *const bad[] = { "pid=4294967296", "pos=4611686018427387905", "len=16385",
					   "lost=1152921504606846977", "conn=18446744073709551616",
					   "tid=-1", "uid=", "pid=1x" };
	struct tlstap_data_event ev;
	char buf[400];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* The first occurrence of a key is the one read. */
		snprintf(buf, sizeof(buf), "tlstap data %s pid=1 tid=1 uid=0 comm=x lib=openssl "
			 "func=SSL_read conn=1 fd=3 dir=in pos=0 len=1 lost=0 skipped=0 addr=unknown",
			 bad[i]);
		assert_int_equal(pcap_out_parse_comment(buf, &ev), -EINVAL);
	}
}

/* Cut to the buffer as snprintf cuts: the prefix of the whole comment, and -ENOSPC. */
static void test_pcap_comment_cut_to_the_buffer(void **state)
{
	struct tlstap_data_event ev = sample_event();
	char buf[640], small[40];

	assert_int_equal(pcap_out_comment(buf, sizeof(buf), &ev), 0);
	assert_int_equal(pcap_out_comment(small, sizeof(small), &ev), -ENOSPC);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, buf, sizeof(small) - 1);
	assert_int_equal(pcap_out_comment(buf, strlen(sample_text), &ev), -ENOSPC);
	assert_int_equal(pcap_out_comment(buf, strlen(sample_text) + 1, &ev), 0);
	assert_int_equal(pcap_out_comment(NULL, 0, &ev), -ENOSPC);
}

/* A whole escape or none: an encoded value is never cut in the middle of %XX. */
static void test_pcap_comment_pct_encode_cuts_whole_escapes(void **state)
{
	char out[9];

	/* 7 bytes and the NUL would fit "ab%20%2": the second escape is left out whole. */
	assert_int_equal(pcap_pct_encode(out, 8, "ab  cd", 6), 5);
	assert_string_equal(out, "ab%20");
	assert_int_equal(pcap_pct_encode(out, 9, "ab  cd", 6), 8);
	assert_string_equal(out, "ab%20%20");
	/* n bounds the input; a NUL ends it sooner. */
	assert_int_equal(pcap_pct_encode(out, sizeof(out), "a.b_c-/", 3), 3);
	assert_string_equal(out, "a.b");
	assert_int_equal(pcap_pct_encode(out, sizeof(out), "a/\0b", 4), 2);
	assert_string_equal(out, "a/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_comment_data_round_trip_of_every_key),
		cmocka_unit_test(test_pcap_comment_container_keys),
		cmocka_unit_test(test_pcap_comment_every_key_is_required),
		cmocka_unit_test(test_pcap_comment_close_round_trip),
		cmocka_unit_test(test_pcap_comment_unknown_lib_is_refused),
		cmocka_unit_test(test_pcap_comment_hostile_comm_is_percent_encoded),
		cmocka_unit_test(test_pcap_comment_numbers_out_of_range_are_refused),
		cmocka_unit_test(test_pcap_comment_cut_to_the_buffer),
		cmocka_unit_test(test_pcap_comment_pct_encode_cuts_whole_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
