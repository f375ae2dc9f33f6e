/* Unit tests of tcpsynth: checksums against an independent RFC 1071 sum, limits, parse round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "tcpsynth.h"

static const uint8_t v4_src[4] = { 192, 0, 2, 1 }, v4_dst[4] = { 198, 51, 100, 7 };
static const uint8_t v6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };
static const uint8_t v6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd };

static uint8_t pkt[TCPSYNTH_ETH_HLEN + TCPSYNTH_MAX_PACKET + 64];
static uint8_t payload[TCPSYNTH_MAX_PACKET];

/* The textbook RFC 1071 sum, a byte pair at a time, big-endian words. */
static uint32_t ref_sum(uint32_t acc, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t ref_fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A correct checksum makes the sum over the covered bytes fold to 0xffff. */
static void check_checksums(const uint8_t *p, size_t len, uint16_t family)
{
	uint8_t pseudo[40] = { 0 };
	size_t iphl = family == AF_INET ? 20 : 40, seglen = len - iphl, plen;

	if (family == AF_INET) {
		assert_int_equal(ref_fold(ref_sum(0, p, 20)), 0xffff);
		memcpy(pseudo, p + 12, 8);
		pseudo[9] = 6;
		pseudo[10] = (uint8_t)(seglen >> 8);
		pseudo[11] = (uint8_t)seglen;
		plen = 12;
	} else {
		memcpy(pseudo, p + 8, 32);
		pseudo[34] = (uint8_t)(seglen >> 8);
		pseudo[35] = (uint8_t)seglen;
		pseudo[39] = 6;
		plen = 40;
	}
	assert_int_equal(ref_fold(ref_sum(ref_sum(0, pseudo, plen), p + iphl, seglen)), 0xffff);
}

static struct tcpsynth_seg seg_v4(uint32_t len)
{
	struct tcpsynth_seg s = {
		.family = AF_INET, .saddr = v4_src, .daddr = v4_dst, .sport = 51234, .dport = 443,
		.seq = 0xfedcba98, .ack = 0x01020304, .flags = TCPSYNTH_ACK | TCPSYNTH_PSH,
		.window = 0xfff0, .payload = payload, .len = len,
	};
	return s;
}

static struct tcpsynth_seg seg_v6(uint32_t len)
{
	struct tcpsynth_seg s = seg_v4(len);

	s.family = AF_INET6;
	s.saddr = v6_src;
	s.daddr = v6_dst;
	return s;
}

static void fill_payload(unsigned seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)rand();
}

/*
 * Builds seg_v4 or seg_v6 of len bytes into pkt and checks what both
 * families share: the length, the TCP header after the IP header, the
 * payload and both checksums. Returns the packet's length.
 */
static int build_checked(int family, uint32_t len)
{
	struct tcpsynth_seg s = family == AF_INET ? seg_v4(len) : seg_v6(len);
	size_t iphl = family == AF_INET ? 20 : 40;
	const uint8_t *tcp = pkt + iphl;
	int n = tcpsynth_build(pkt, sizeof(pkt), &s);

	assert_int_equal(n, iphl + 20 + len);
	assert_int_equal(be16(tcp), 51234);
	assert_int_equal(be16(tcp + 2), 443);
	assert_int_equal(be32(tcp + 4), 0xfedcba98);
	assert_int_equal(be32(tcp + 8), 0x01020304);
	assert_int_equal(tcp[12], 0x50);
	assert_int_equal(tcp[13], TCPSYNTH_ACK | TCPSYNTH_PSH);
	assert_int_equal(be16(tcp + 14), 0xfff0);
	assert_int_equal(be16(tcp + 18), 0);
	if (len)
		assert_memory_equal(tcp + 20, payload, len);
	check_checksums(pkt, (size_t)n, family);
	return n;
}

static void test_tcpsynth_ipv4_header_fields_and_checksums(void **state)
{
	static const uint32_t lens[] = { 0, 1, 2, 3, 4, 5, 1000, 1001, 1460, 40000 };
	size_t i;
	int n;

	fill_payload(1);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		n = build_checked(AF_INET, lens[i]);
		assert_int_equal(pkt[0], 0x45);
		assert_int_equal(be16(pkt + 2), n);
		assert_int_equal(be16(pkt + 6), 0x4000);	/* DF, offset 0 */
		assert_int_equal(pkt[8], 64);
		assert_int_equal(pkt[9], 6);
		assert_memory_equal(pkt + 12, v4_src, 4);
		assert_memory_equal(pkt + 16, v4_dst, 4);
	}
}

static void test_tcpsynth_ipv6_header_fields_and_checksums(void **state)
{
	static const uint32_t lens[] = { 0, 1, 2, 3, 7, 999, 1440, 50001 };
	size_t i;

	fill_payload(2);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		build_checked(AF_INET6, lens[i]);
		assert_int_equal(be32(pkt), 0x60000000);
		assert_int_equal(be16(pkt + 4), 20 + lens[i]);
		assert_int_equal(pkt[6], 6);
		assert_int_equal(pkt[7], 64);
		assert_memory_equal(pkt + 8, v6_src, 16);
		assert_memory_equal(pkt + 24, v6_dst, 16);
	}
}

/* Many random segments: every flag, port and length through the reference sum. */
static void test_tcpsynth_random_segments_checksum(void **state)
{
	struct tcpsynth_seg s;
	uint8_t src[16], dst[16];
	int i, k, n;

	fill_payload(3);
	srand(4);
	for (i = 0; i < 2000; i++) {
		for (k = 0; k < 16; k++) {
			src[k] = (uint8_t)rand();
			dst[k] = (uint8_t)rand();
		}
		s = (i & 1) ? seg_v6(0) : seg_v4(0);
		s.saddr = src;
		s.daddr = dst;
		s.sport = (uint16_t)rand();
		s.dport = (uint16_t)rand();
		s.seq = (uint32_t)rand() * 2654435761u;
		s.ack = (uint32_t)rand();
		s.flags = (uint8_t)rand();
		s.window = (uint16_t)rand();
		s.len = (uint32_t)rand() % 3000;
		s.payload = payload + rand() % 1000;	/* odd addresses too */
		n = tcpsynth_build(pkt, sizeof(pkt), &s);
		assert_true(n > 0);
		check_checksums(pkt, (size_t)n, s.family);
	}
}

static void test_tcpsynth_max_payload_fits_one_more_is_einval(void **state)
{
	struct tcpsynth_seg s;
	int n;

	fill_payload(5);
	assert_int_equal(tcpsynth_max_payload(AF_INET), 65495);
	assert_int_equal(tcpsynth_max_payload(AF_INET6), 65475);
	assert_int_equal(tcpsynth_max_payload(AF_UNIX), 0);

	s = seg_v4(TCPSYNTH_MAX_PAYLOAD_V4);
	n = tcpsynth_build(pkt, sizeof(pkt), &s);
	assert_int_equal(n, 65535);
	assert_int_equal(be16(pkt + 2), 65535);
	check_checksums(pkt, (size_t)n, AF_INET);
	s.len++;
	assert_int_equal(tcpsynth_build(pkt, sizeof(pkt), &s), -EINVAL);

	s = seg_v6(TCPSYNTH_MAX_PAYLOAD_V6);
	n = tcpsynth_build(pkt, sizeof(pkt), &s);
	assert_int_equal(n, 65535);
	assert_int_equal(be16(pkt + 4), 65535 - 40);
	check_checksums(pkt, (size_t)n, AF_INET6);
	s.len++;
	assert_int_equal(tcpsynth_build(pkt, sizeof(pkt), &s), -EINVAL);
}

static void test_tcpsynth_small_buffer_is_enospc(void **state)
{
	struct tcpsynth_seg s = seg_v4(100);

	assert_int_equal(tcpsynth_build(pkt, 139, &s), -ENOSPC);
	assert_int_equal(tcpsynth_build(pkt, 140, &s), 140);
	s = seg_v6(100);
	assert_int_equal(tcpsynth_build(pkt, 159, &s), -ENOSPC);
	assert_int_equal(tcpsynth_build_eth(pkt, 173, &s), -ENOSPC);
	assert_int_equal(tcpsynth_build_eth(pkt, 10, &s), -ENOSPC);
	assert_int_equal(tcpsynth_build_eth(pkt, 174, &s), 174);
}

static void test_tcpsynth_bad_arguments_are_einval(void **state)
{
	struct tcpsynth_seg s = seg_v4(10);

	s.family = AF_UNIX;
	assert_int_equal(tcpsynth_build(pkt, sizeof(pkt), &s), -EINVAL);
	s = seg_v4(10);
	s.saddr = NULL;
	assert_int_equal(tcpsynth_build(pkt, sizeof(pkt), &s), -EINVAL);
	s = seg_v6(10);
	s.daddr = NULL;
	assert_int_equal(tcpsynth_build(pkt, sizeof(pkt), &s), -EINVAL);
	s = seg_v4(10);
	s.payload = NULL;
	assert_int_equal(tcpsynth_build(pkt, sizeof(pkt), &s), -EINVAL);
	s.len = 0;	/* no payload: NULL is fine */
	assert_int_equal(tcpsynth_build(pkt, sizeof(pkt), &s), 40);
	assert_int_equal(tcpsynth_build(NULL, 100, &s), -EINVAL);
	assert_int_equal(tcpsynth_build(pkt, sizeof(pkt), NULL), -EINVAL);
}

static void check_same_seg(const struct tcpsynth_seg *a, const struct tcpsynth_seg *b)
{
	size_t alen = a->family == AF_INET ? 4 : 16;

	assert_int_equal(a->family, b->family);
	assert_memory_equal(a->saddr, b->saddr, alen);
	assert_memory_equal(a->daddr, b->daddr, alen);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->window, b->window);
	assert_int_equal(a->len, b->len);
	if (a->len)
		assert_memory_equal(a->payload, b->payload, a->len);
}

static void test_tcpsynth_parse_round_trip(void **state)
{
	static const uint8_t flags[] = { TCPSYNTH_SYN, TCPSYNTH_SYN | TCPSYNTH_ACK, TCPSYNTH_ACK,
					 TCPSYNTH_ACK | TCPSYNTH_PSH, TCPSYNTH_FIN | TCPSYNTH_ACK,
					 TCPSYNTH_RST };
	struct tcpsynth_seg s, got;
	size_t i;
	int n;

	fill_payload(6);
	for (i = 0; i < 2 * sizeof(flags); i++) {
		s = i % 2 ? seg_v6((uint32_t)i * 333) : seg_v4((uint32_t)i * 333);
		s.flags = flags[i / 2];
		n = tcpsynth_build(pkt, sizeof(pkt), &s);
		assert_true(n > 0);
		assert_int_equal(tcpsynth_parse(pkt, (size_t)n, &got), 0);
		check_same_seg(&s, &got);
		/* Addresses and payload point into the packet, not copies. */
		assert_ptr_equal(got.payload, pkt + (s.family == AF_INET ? 40 : 60));
		assert_int_equal(tcpsynth_parse_frame(101, pkt, (size_t)n, &got), 0);
		check_same_seg(&s, &got);
		assert_int_equal(tcpsynth_parse_frame(s.family == AF_INET ? 228 : 229,
						      pkt, (size_t)n, &got), 0);
		check_same_seg(&s, &got);
		assert_int_equal(tcpsynth_parse_frame(s.family == AF_INET ? 229 : 228,
						      pkt, (size_t)n, &got), -EINVAL);
	}
	/* Trailing link-layer padding after an IPv4 packet is not payload. */
	s = seg_v4(3);
	n = tcpsynth_build(pkt, sizeof(pkt), &s);
	memset(pkt + n, 0, 6);
	assert_int_equal(tcpsynth_parse(pkt, (size_t)n + 6, &got), 0);
	check_same_seg(&s, &got);
}

static void test_tcpsynth_parse_truncated_at_every_length_is_einval(void **state)
{
	struct tcpsynth_seg s, got;
	size_t cut;
	int n, v;

	for (v = 0; v < 2; v++) {
		s = v ? seg_v6(37) : seg_v4(37);
		n = tcpsynth_build(pkt, sizeof(pkt), &s);
		for (cut = 0; cut < (size_t)n; cut++)
			assert_int_equal(tcpsynth_parse(pkt, cut, &got), -EINVAL);
		assert_int_equal(tcpsynth_parse(pkt, (size_t)n, &got), 0);
	}
}

static void test_tcpsynth_parse_rejects_malformed_and_foreign(void **state)
{
	struct tcpsynth_seg s = seg_v4(10), got;
	uint8_t copy[128];
	int n = tcpsynth_build(pkt, sizeof(pkt), &s);

	memcpy(copy, pkt, (size_t)n);
	copy[0] = 0x44;		/* IHL 4: shorter than a header */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EINVAL);
	copy[0] = 0x4f;		/* IHL 15: longer than the packet's 50 bytes */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EINVAL);
	copy[0] = 0x55;		/* version 5 */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EINVAL);
	memcpy(copy, pkt, (size_t)n);
	copy[9] = 17;		/* UDP */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EPROTONOSUPPORT);
	memcpy(copy, pkt, (size_t)n);
	copy[6] = 0x20;		/* more fragments */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EPROTONOSUPPORT);
	memcpy(copy, pkt, (size_t)n);
	copy[32] = 0x40;	/* TCP data offset 4 words */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EINVAL);
	copy[32] = 0xf0;	/* 60 bytes of TCP header in a 30-byte segment */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EINVAL);
	memcpy(copy, pkt, (size_t)n);
	copy[32] = 0x60;	/* 24-byte header: the first 4 payload bytes become options */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), 0);
	assert_int_equal(got.len, 6);
	assert_ptr_equal(got.payload, copy + 44);

	s = seg_v6(10);
	n = tcpsynth_build(pkt, sizeof(pkt), &s);
	memcpy(copy, pkt, (size_t)n);
	copy[6] = 44;		/* a fragment header */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EPROTONOSUPPORT);
	copy[6] = 58;		/* ICMPv6 */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EPROTONOSUPPORT);
	memcpy(copy, pkt, (size_t)n);
	copy[5] = 0xff;		/* payload length past the packet */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n, &got), -EINVAL);
	assert_int_equal(tcpsynth_parse_frame(147, pkt, (size_t)n, &got), -EPROTONOSUPPORT);
	assert_int_equal(tcpsynth_parse(NULL, 10, &got), -EINVAL);
}

/* An IPv6 hop-by-hop header before TCP is skipped; one that overruns is not. */
static void test_tcpsynth_parse_skips_ipv6_extension_header(void **state)
{
	struct tcpsynth_seg s = seg_v6(9), got;
	uint8_t copy[256] = { 0 };
	int n;

	fill_payload(7);
	n = tcpsynth_build(pkt, sizeof(pkt), &s);
	memcpy(copy, pkt, 40);
	copy[6] = 0;			/* next: hop-by-hop */
	copy[5] = (uint8_t)(be16(pkt + 4) + 8);
	copy[40] = 6;			/* then TCP; 8 bytes long */
	copy[41] = 0;
	memcpy(copy + 48, pkt + 40, (size_t)n - 40);
	assert_int_equal(tcpsynth_parse(copy, (size_t)n + 8, &got), 0);
	check_same_seg(&s, &got);
	copy[41] = 200;			/* 1608 bytes: past the payload */
	assert_int_equal(tcpsynth_parse(copy, (size_t)n + 8, &got), -EINVAL);
}

static void test_tcpsynth_ethernet_frame_round_trip(void **state)
{
	struct tcpsynth_seg s, got;
	uint8_t tagged[256];
	int n, v;

	fill_payload(8);
	for (v = 0; v < 2; v++) {
		s = v ? seg_v6(21) : seg_v4(21);
		n = tcpsynth_build_eth(pkt, sizeof(pkt), &s);
		assert_int_equal(n, 14 + (v ? 60 : 40) + 21);
		assert_int_equal(be16(pkt + 12), v ? 0x86dd : 0x0800);
		assert_int_equal(pkt[0] & 0x03, 0x02);	/* locally administered unicast */
		check_checksums(pkt + 14, (size_t)n - 14, s.family);
		assert_int_equal(tcpsynth_parse_frame(1, pkt, (size_t)n, &got), 0);
		check_same_seg(&s, &got);
		/* One 802.1Q tag between the addresses and the EtherType. */
		memcpy(tagged, pkt, 12);
		tagged[12] = 0x81;
		tagged[13] = 0x00;
		tagged[14] = 0x00;
		tagged[15] = 0x05;
		memcpy(tagged + 16, pkt + 12, (size_t)n - 12);
		assert_int_equal(tcpsynth_parse_frame(1, tagged, (size_t)n + 4, &got), 0);
		check_same_seg(&s, &got);
		/* EtherType saying IPv4 over an IPv6 packet, or the reverse. */
		pkt[12] = v ? 0x08 : 0x86;
		pkt[13] = v ? 0x00 : 0xdd;
		assert_int_equal(tcpsynth_parse_frame(1, pkt, (size_t)n, &got), -EINVAL);
		pkt[12] = 0x08;
		pkt[13] = 0x06;		/* ARP */
		assert_int_equal(tcpsynth_parse_frame(1, pkt, (size_t)n, &got), -EPROTONOSUPPORT);
		assert_int_equal(tcpsynth_parse_frame(1, pkt, 13, &got), -EINVAL);
		assert_int_equal(tcpsynth_parse_frame(1, tagged, 15, &got), -EINVAL);
	}
}

/*
 * Headers built apart (the payload read, not copied) and then the payload
 * are the whole frame, byte for byte, at every length and alignment.
 */
static void test_tcpsynth_headers_then_payload_is_the_frame(void **state)
{
	static uint8_t whole[70000], head[128];
	struct tcpsynth_seg s;
	int i, n, h;

	fill_payload(5);
	for (i = 0; i < 600; i++) {
		s = (i & 1) ? seg_v6(0) : seg_v4(0);
		s.len = (uint32_t)(i * 7 % 3001);
		s.payload = payload + i % 13;
		s.seq = (uint32_t)i * 2654435761u;
		n = tcpsynth_build_eth(whole, sizeof(whole), &s);
		h = tcpsynth_build_eth_headers(head, sizeof(head), &s);
		assert_true(n > 0);
		assert_int_equal(h, 14 + ((i & 1) ? 60 : 40));
		assert_int_equal(n, h + (int)s.len);
		assert_memory_equal(whole, head, (size_t)h);
		assert_memory_equal(whole + h, s.payload, s.len);
	}
	s = seg_v4(10);
	assert_int_equal(tcpsynth_build_eth_headers(head, 14 + 39, &s), -ENOSPC);
	assert_int_equal(tcpsynth_build_eth_headers(head, 14 + 40, &s), 14 + 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcpsynth_ipv4_header_fields_and_checksums),
		cmocka_unit_test(test_tcpsynth_headers_then_payload_is_the_frame),
		cmocka_unit_test(test_tcpsynth_ipv6_header_fields_and_checksums),
		cmocka_unit_test(test_tcpsynth_random_segments_checksum),
		cmocka_unit_test(test_tcpsynth_max_payload_fits_one_more_is_einval),
		cmocka_unit_test(test_tcpsynth_small_buffer_is_enospc),
		cmocka_unit_test(test_tcpsynth_bad_arguments_are_einval),
		cmocka_unit_test(test_tcpsynth_parse_round_trip),
		cmocka_unit_test(test_tcpsynth_parse_truncated_at_every_length_is_einval),
		cmocka_unit_test(test_tcpsynth_parse_rejects_malformed_and_foreign),
		cmocka_unit_test(test_tcpsynth_parse_skips_ipv6_extension_header),
		cmocka_unit_test(test_tcpsynth_ethernet_frame_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
