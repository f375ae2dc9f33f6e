/* Unit tests of the pcapng writer: read back by libpcap, tshark, the strict reader and by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"
#include "pcapng.h"
#include "pcapng_read.h"
#include "tcpsynth.h"

#define SNAPLEN		262144
#define MAX_IFS		3
#define MAX_PKTS	8
#define T0		1700000000123456789ull	/* 2023-11-14, high word non-zero */
#define UTF8_COMMENT	"\xc3\xbcn\xc3\xaf" "code \xe2\x9c\x93 pid 7 comm python3"

static int setup_dir(void **state)
{
	return test_tmpdir_create("pcapng");
}

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *buf = test_slurp(path, len);

	assert_non_null(buf);
	return buf;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
}

/* ---- A capture described once, then checked against every reader ---- */

struct exp_pkt {
	uint32_t ifc;
	uint64_t ts;
	uint8_t *data;
	uint32_t caplen, origlen;
	int dir;
	const char *comment;
	struct tcpsynth_seg seg;	/* what tshark must dissect */
	const char *src;		/* seg.saddr as tshark prints it */
};

struct sample {
	uint32_t nif;
	uint16_t linktype[MAX_IFS];
	const char *name[MAX_IFS], *desc[MAX_IFS];
	uint64_t drops[MAX_IFS];
	const char *stats_comment[MAX_IFS];
	int npkt;
	struct exp_pkt pkt[MAX_PKTS];
};

static const uint8_t a4[4] = { 10, 1, 2, 3 }, b4[4] = { 10, 9, 8, 7 };
static const uint8_t a6[16] = { 0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
static const uint8_t b6[16] = { 0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };
static const char http_get[] = "GET /secret HTTP/1.1\r\nHost: api.example\r\n\r\n";
static uint8_t big_payload[60000];

/* Adds a packet to s: a TCP segment framed for its interface's link type. */
static void add_pkt(struct sample *s, uint32_t ifc, bool v6, bool outbound, uint8_t flags,
		    uint32_t seq, const void *payload, uint32_t len, int dir, const char *comment)
{
	struct exp_pkt *p = &s->pkt[s->npkt];
	uint8_t *buf = malloc(TCPSYNTH_ETH_HLEN + TCPSYNTH_MAX_PACKET);
	int n;

	assert_true(s->npkt < MAX_PKTS);
	assert_non_null(buf);
	p->ifc = ifc;
	p->ts = T0 + (uint64_t)s->npkt * 1000001;	/* crosses second boundaries */
	p->dir = dir;
	p->comment = comment;
	p->seg = (struct tcpsynth_seg){
		.family = v6 ? AF_INET6 : AF_INET,
		.saddr = outbound ? (v6 ? a6 : a4) : (v6 ? b6 : b4),
		.daddr = outbound ? (v6 ? b6 : b4) : (v6 ? a6 : a4),
		.sport = outbound ? 40000 : 443, .dport = outbound ? 443 : 40000,
		.seq = seq, .ack = 0x5000, .flags = flags, .window = 65535,
		.payload = payload, .len = len,
	};
	p->src = outbound ? (v6 ? "fd00::1234" : "10.1.2.3") : (v6 ? "fd00::1" : "10.9.8.7");
	if (s->linktype[ifc] == PCAPNG_LINKTYPE_ETHERNET)
		n = tcpsynth_build_eth(buf, TCPSYNTH_ETH_HLEN + TCPSYNTH_MAX_PACKET, &p->seg);
	else
		n = tcpsynth_build(buf, TCPSYNTH_MAX_PACKET, &p->seg);
	assert_true(n > 0);
	p->data = buf;
	p->caplen = p->origlen = (uint32_t)n;
	s->npkt++;
}

/* A connection's life on every interface of s: handshake, data both ways, big data, close. */
static void make_sample(struct sample *s, uint32_t nif, const uint16_t *linktypes)
{
	uint32_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < sizeof(big_payload); i++)
		big_payload[i] = (uint8_t)(i * 31 + 7);
	s->nif = nif;
	for (i = 0; i < nif; i++) {
		static const char *const names[] = { "pid 4242 curl", "pid 77 python3", "pid 5 node" };

		s->linktype[i] = linktypes[i];
		s->name[i] = names[i];
		s->desc[i] = i == 1 ? NULL : "openssl 3.0 /usr/lib/x86_64-linux-gnu/libssl.so.3";
		s->drops[i] = i * 1000 + 3;
		s->stats_comment[i] = i == 0 ? "lost 3 bytes of conn 1 (out, 100-103)" : NULL;
	}
	add_pkt(s, 0, false, true, TCPSYNTH_SYN, 0xfffffff0, NULL, 0, PCAPNG_DIR_OUTBOUND,
		"pid 4242 comm curl conn 1");
	add_pkt(s, 0, false, true, TCPSYNTH_ACK | TCPSYNTH_PSH, 0xfffffff1, http_get,
		sizeof(http_get) - 1, PCAPNG_DIR_OUTBOUND, NULL);
	add_pkt(s, nif - 1, true, false, TCPSYNTH_ACK | TCPSYNTH_PSH, 7, "HTTP/1.1 200 OK\r\n", 17,
		PCAPNG_DIR_INBOUND, UTF8_COMMENT);
	add_pkt(s, nif - 1, true, false, TCPSYNTH_ACK, 24, big_payload, sizeof(big_payload),
		PCAPNG_DIR_INBOUND, "big");
	add_pkt(s, 0, false, true, TCPSYNTH_FIN | TCPSYNTH_ACK, 0xfffffff1 + 44, NULL, 0,
		PCAPNG_DIR_UNKNOWN, NULL);
}

static void free_sample(struct sample *s)
{
	int i;

	for (i = 0; i < s->npkt; i++)
		free(s->pkt[i].data);
}

static void write_sample(const struct sample *s, const char *path)
{
	struct pcapng_writer *w = NULL;
	uint32_t i, id;
	int k;

	assert_int_equal(pcapng_open(&w, path, "tlstap-test 0.1.0"), 0);
	for (i = 0; i < s->nif; i++) {
		assert_int_equal(pcapng_add_interface(w, s->linktype[i], SNAPLEN, s->name[i],
						      s->desc[i], &id), 0);
		assert_int_equal(id, i);
	}
	for (k = 0; k < s->npkt; k++) {
		const struct exp_pkt *p = &s->pkt[k];

		assert_int_equal(pcapng_write_packet(w, p->ifc, p->ts, p->data, p->caplen,
						     p->origlen, p->dir, p->comment), 0);
	}
	for (i = 0; i < s->nif; i++)
		assert_int_equal(pcapng_write_stats(w, i, T0 - 5, s->pkt[s->npkt - 1].ts,
						    s->drops[i], s->stats_comment[i]), 0);
	assert_int_equal(pcapng_close(w), 0);
}

/* ---- libpcap ---- */

static void check_with_libpcap(const struct sample *s, const char *path, int dlt)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;
	int k;

	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p)
		fail_msg("libpcap: %s", errbuf);
	/* libpcap shows one link type for the whole file: the first interface's. */
	assert_int_equal(pcap_datalink(p), dlt);
	assert_int_equal(pcap_snapshot(p), SNAPLEN);
	for (k = 0; k < s->npkt; k++) {
		const struct exp_pkt *e = &s->pkt[k];
		int ret = pcap_next_ex(p, &h, &data);

		if (ret != 1)
			fail_msg("packet %d: pcap_next_ex %d: %s", k, ret, pcap_geterr(p));
		assert_int_equal((uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
				 e->ts);
		assert_int_equal(h->caplen, e->caplen);
		assert_int_equal(h->len, e->origlen);
		assert_memory_equal(data, e->data, e->caplen);
	}
	assert_int_equal(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(p);
}

static void test_pcapng_libpcap_reads_raw_ip_file(void **state)
{
	static const uint16_t lt[] = { PCAPNG_LINKTYPE_RAW };
	struct sample s;

	make_sample(&s, 1, lt);
	write_sample(&s, tmp_path("raw.pcapng"));
	check_with_libpcap(&s, tmp_path("raw.pcapng"), DLT_RAW);
	free_sample(&s);
}

/*
 * Several interfaces: libpcap 1.10 accepts them only when link type and
 * snaplen are the same, and for LINKTYPE_RAW not even then (it compares 101
 * with DLT_RAW). Ethernet is the portable multi-interface choice.
 */
static void test_pcapng_libpcap_reads_two_ethernet_interfaces(void **state)
{
	static const uint16_t lt[] = { PCAPNG_LINKTYPE_ETHERNET, PCAPNG_LINKTYPE_ETHERNET };
	struct sample s;

	make_sample(&s, 2, lt);
	write_sample(&s, tmp_path("eth2.pcapng"));
	check_with_libpcap(&s, tmp_path("eth2.pcapng"), DLT_EN10MB);
	free_sample(&s);
}

/* ---- the strict reader ---- */

/* A sample with nif interfaces of these link types, written to name in the scratch directory, then checked. */
static void write_and_check(uint32_t nif, const uint16_t *linktypes, const char *name,
			    void (*check)(const struct sample *s, const char *path))
{
	struct sample s;

	make_sample(&s, nif, linktypes);
	write_sample(&s, tmp_path(name));
	check(&s, tmp_path(name));
	free_sample(&s);
}

static void check_with_reader(const struct sample *s, const char *path)
{
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	uint32_t i;
	int k;

	assert_int_equal(pcapng_reader_open(&r, path), 0);
	assert_int_equal(pcapng_reader_next(r, &b), 1);
	assert_int_equal(b.kind, PCAPNG_SHB);
	for (i = 0; i < s->nif; i++) {
		assert_int_equal(pcapng_reader_next(r, &b), 1);
		assert_int_equal(b.kind, PCAPNG_IDB);
		assert_int_equal(b.if_id, i);
		assert_int_equal(b.linktype, s->linktype[i]);
		assert_string_equal(b.if_name, s->name[i]);
		if (s->desc[i])
			assert_string_equal(b.if_description, s->desc[i]);
		else
			assert_null(b.if_description);
	}
	for (k = 0; k < s->npkt; k++) {
		const struct exp_pkt *e = &s->pkt[k];

		assert_int_equal(pcapng_reader_next(r, &b), 1);
		assert_int_equal(b.kind, PCAPNG_EPB);
		assert_int_equal(b.if_id, e->ifc);
		assert_int_equal(b.linktype, s->linktype[e->ifc]);
		assert_int_equal(b.ts_ns, e->ts);
		assert_int_equal(b.caplen, e->caplen);
		assert_int_equal(b.origlen, e->origlen);
		assert_memory_equal(b.data, e->data, e->caplen);
		assert_int_equal(b.direction, e->dir);
		if (e->comment)
			assert_string_equal(b.comment, e->comment);
		else
			assert_null(b.comment);
	}
	for (i = 0; i < s->nif; i++) {
		assert_int_equal(pcapng_reader_next(r, &b), 1);
		assert_int_equal(b.kind, PCAPNG_ISB);
		assert_int_equal(b.if_id, i);
		assert_int_equal(b.ts_ns, s->pkt[s->npkt - 1].ts);
		assert_int_equal(b.ifdrop, s->drops[i]);
		if (s->stats_comment[i])
			assert_string_equal(b.comment, s->stats_comment[i]);
		else
			assert_null(b.comment);
	}
	assert_int_equal(pcapng_reader_next(r, &b), 0);
	assert_int_equal(pcapng_reader_next(r, &b), 0);
	assert_string_equal(pcapng_reader_error(r), "");
	pcapng_reader_close(r);
}

static void test_pcapng_strict_reader_reads_back_every_field(void **state)
{
	static const uint16_t raw[] = { PCAPNG_LINKTYPE_RAW };
	static const uint16_t eth[] = { PCAPNG_LINKTYPE_ETHERNET, PCAPNG_LINKTYPE_ETHERNET };
	static const uint16_t mixed[] = { PCAPNG_LINKTYPE_RAW, PCAPNG_LINKTYPE_ETHERNET,
					  PCAPNG_LINKTYPE_RAW };

	write_and_check(1, raw, "r1.pcapng", check_with_reader);
	write_and_check(2, eth, "r2.pcapng", check_with_reader);
	write_and_check(3, mixed, "r3.pcapng", check_with_reader);
}

/* ---- tshark ---- */

/* Splits line at tabs in place, keeping empty fields; returns the count. */
static int split_tabs(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;

	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		fields[n++] = strsep(&p, "\t");
		if (!p)
			break;
	}
	return n;
}

static void check_with_tshark(const struct sample *s, const char *path)
{
	enum { F_COMMENT, F_IPSRC, F_IP6SRC, F_SPORT, F_SEQ, F_LEN, F_TCPCK, F_IPCK, F_DIR,
	       F_IFNAME, F_N };
	char cmd[1024], line[4096], *f[F_N + 1], expect[64];
	const char *errpath = tmp_path("tshark.err");
	FILE *out;
	int k = 0, rc;

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/tshark -n -r '%s' -T fields -e frame.comment -e ip.src -e ipv6.src "
		 "-e tcp.srcport -e tcp.seq_raw -e tcp.len -e tcp.checksum.status "
		 "-o tcp.check_checksum:TRUE -e ip.checksum.status -o ip.check_checksum:TRUE "
		 "-e frame.packet_flags_direction -e frame.interface_name 2>'%s'", path, errpath);
	out = popen(cmd, "r");
	assert_non_null(out);
	while (fgets(line, sizeof(line), out)) {
		const struct exp_pkt *e;
		bool v4;

		if (k >= s->npkt)
			fail_msg("tshark printed more packets than the %d written: %s", s->npkt, line);
		e = &s->pkt[k];
		v4 = e->seg.family == AF_INET;
		if (split_tabs(line, f, F_N + 1) != F_N)
			fail_msg("packet %d: unexpected tshark line", k);
		assert_string_equal(f[F_COMMENT], e->comment ? e->comment : "");
		assert_string_equal(f[F_IPSRC], v4 ? e->src : "");
		assert_string_equal(f[F_IP6SRC], v4 ? "" : e->src);
		snprintf(expect, sizeof(expect), "%u", e->seg.sport);
		assert_string_equal(f[F_SPORT], expect);
		snprintf(expect, sizeof(expect), "%u", e->seg.seq);
		assert_string_equal(f[F_SEQ], expect);
		snprintf(expect, sizeof(expect), "%u", e->seg.len);
		assert_string_equal(f[F_LEN], expect);
		/* 1 is Wireshark's PROTO_CHECKSUM_E_GOOD. */
		assert_string_equal(f[F_TCPCK], "1");
		assert_string_equal(f[F_IPCK], v4 ? "1" : "");
		if (e->dir)
			snprintf(expect, sizeof(expect), "0x%08x", e->dir);
		else
			expect[0] = '\0';
		assert_string_equal(f[F_DIR], expect);
		assert_string_equal(f[F_IFNAME], s->name[e->ifc]);
		k++;
	}
	rc = pclose(out);
	if (rc != 0 || k != s->npkt) {
		char err[2048] = "";
		FILE *ef = fopen(errpath, "r");

		if (ef) {
			err[fread(err, 1, sizeof(err) - 1, ef)] = '\0';
			fclose(ef);
		}
		fail_msg("tshark exited %d after %d of %d packets: %s", rc, k, s->npkt, err);
	}
}

/* tshark is the truth for what Wireshark users will see; its absence only skips unless CI requires it. */
static bool tshark_available(void)
{
	const char *req = getenv("TLSTAP_REQUIRE_TSHARK");

	if (access("/usr/bin/tshark", X_OK) == 0)
		return true;
	if (req && strcmp(req, "1") == 0)
		fail_msg("/usr/bin/tshark is missing and TLSTAP_REQUIRE_TSHARK=1");
	print_message("skipping: /usr/bin/tshark is not installed (apt-get install tshark)\n");
	return false;
}

static void test_pcapng_tshark_dissects_fields_comments_checksums(void **state)
{
	static const uint16_t raw[] = { PCAPNG_LINKTYPE_RAW };
	static const uint16_t mixed[] = { PCAPNG_LINKTYPE_RAW, PCAPNG_LINKTYPE_ETHERNET };

	if (!tshark_available()) {
		skip();
		return;
	}
	write_and_check(1, raw, "t1.pcapng", check_with_tshark);
	/* Interfaces of different link types: fine for Wireshark. */
	write_and_check(2, mixed, "t2.pcapng", check_with_tshark);
}

/* ---- the bytes, parsed by hand ---- */

struct hblock {
	uint32_t type, len;
	const uint8_t *p;		/* the whole block */
};

static uint16_t h16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t h32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t h64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Splits a host-order file into blocks, checking the framing of each. */
static int hand_blocks(const uint8_t *buf, size_t len, struct hblock *out, int max)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		uint32_t blen;

		assert_true(len - off >= 12);
		blen = h32(buf + off + 4);
		assert_true(blen >= 12);
		assert_int_equal(blen % 4, 0);
		assert_true(blen <= len - off);
		assert_int_equal(h32(buf + off + blen - 4), blen);
		assert_true(n < max);
		out[n].type = h32(buf + off);
		out[n].len = blen;
		out[n].p = buf + off;
		n++;
		off += blen;
	}
	return n;
}

struct hopt {
	uint16_t code, len;
	const uint8_t *val;
};

/*
 * The options from offset start of block b: each padded with zeros to 4,
 * the list closed by opt_endofopt that ends right at the trailer. Returns
 * the count, endofopt excluded; 0 when the block has no options at all.
 */
static int hand_opts(const struct hblock *b, size_t start, struct hopt *o, int max)
{
	size_t off = start, end = b->len - 4;
	int n = 0, i;

	if (off == end)
		return 0;
	for (;;) {
		uint16_t code, len;

		assert_true(end - off >= 4);
		code = h16(b->p + off);
		len = h16(b->p + off + 2);
		if (code == 0) {
			assert_int_equal(len, 0);
			assert_int_equal(off + 4, end);
			return n;
		}
		assert_true(n < max);
		assert_true(off + 4 + len <= end);
		o[n].code = code;
		o[n].len = len;
		o[n].val = b->p + off + 4;
		off += 4 + len;
		for (i = 0; len % 4 && i < 4 - len % 4; i++)
			assert_int_equal(b->p[off++], 0);
		n++;
	}
}

static void assert_opt_str(const struct hopt *o, uint16_t code, const char *s)
{
	assert_int_equal(o->code, code);
	assert_int_equal(o->len, strlen(s));
	assert_memory_equal(o->val, s, strlen(s));
}

/* pcapng 64-bit timestamps are a high and a low 32-bit word. */
static uint64_t hts(const uint8_t *p)
{
	return (uint64_t)h32(p) << 32 | h32(p + 4);
}

static void test_pcapng_block_layout_by_hand(void **state)
{
	static const uint8_t d0[5] = { 1, 2, 3, 4, 5 }, d1[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	const char *path = tmp_path("layout.pcapng");
	struct pcapng_writer *w = NULL;
	struct hblock b[16];
	struct hopt o[8];
	uint32_t id;
	uint8_t *buf;
	size_t len;
	int n, i;

	assert_int_equal(pcapng_open(&w, path, "tlstap-test 9.9"), 0);
	assert_int_equal(pcapng_add_interface(w, PCAPNG_LINKTYPE_RAW, 65535, "lo0", "desc1", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(pcapng_add_interface(w, PCAPNG_LINKTYPE_ETHERNET, 0, NULL, NULL, &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(pcapng_write_packet(w, 0, T0, d0, 5, 5, PCAPNG_DIR_OUTBOUND, "abc"), 0);
	assert_int_equal(pcapng_write_packet(w, 1, T0 + 1, d1, 8, 8, PCAPNG_DIR_UNKNOWN, NULL), 0);
	assert_int_equal(pcapng_write_packet(w, 0, T0 + 2, d1, 3, 100, PCAPNG_DIR_INBOUND, ""), 0);
	assert_int_equal(pcapng_write_stats(w, 0, T0 - 10, T0 + 3, 17, "drops"), 0);
	assert_int_equal(pcapng_write_stats(w, 1, T0 - 10, T0 + 3, 0, NULL), 0);
	assert_int_equal(pcapng_flush(w), 0);
	buf = slurp(path, &len);
	assert_int_equal(pcapng_bytes_written(w), len);
	assert_int_equal(pcapng_close(w), 0);

	n = hand_blocks(buf, len, b, 16);
	assert_int_equal(n, 8);

	/* SHB: magic in host order (we write host order), version 1.0, length unknown. */
	assert_int_equal(b[0].type, 0x0A0D0D0A);
	assert_int_equal(h32(b[0].p + 8), 0x1A2B3C4D);
	assert_int_equal(h16(b[0].p + 12), 1);
	assert_int_equal(h16(b[0].p + 14), 0);
	assert_int_equal(h64(b[0].p + 16), UINT64_MAX);
	assert_int_equal(hand_opts(&b[0], 24, o, 8), 1);
	assert_opt_str(&o[0], 4, "tlstap-test 9.9");	/* shb_userappl, 15 bytes + 1 pad */
	assert_int_equal(b[0].len, 24 + 4 + 16 + 4 + 4);

	/* IDB 0: names padded (3 -> 4, 5 -> 8), if_tsresol 9 as one byte. */
	assert_int_equal(b[1].type, 1);
	assert_int_equal(h16(b[1].p + 8), 101);
	assert_int_equal(h16(b[1].p + 10), 0);
	assert_int_equal(h32(b[1].p + 12), 65535);
	assert_int_equal(hand_opts(&b[1], 16, o, 8), 3);
	assert_opt_str(&o[0], 2, "lo0");
	assert_opt_str(&o[1], 3, "desc1");
	assert_int_equal(o[2].code, 9);
	assert_int_equal(o[2].len, 1);
	assert_int_equal(o[2].val[0], 9);
	assert_int_equal(b[1].len, 16 + 8 + 12 + 8 + 4 + 4);

	/* IDB 1: only if_tsresol. */
	assert_int_equal(h16(b[2].p + 8), 1);
	assert_int_equal(h32(b[2].p + 12), 0);
	assert_int_equal(hand_opts(&b[2], 16, o, 8), 1);
	assert_int_equal(o[0].code, 9);
	assert_int_equal(o[0].val[0], 9);

	/* EPB 0: 5 data bytes + 3 zero pad, opt_comment, epb_flags outbound. */
	assert_int_equal(b[3].type, 6);
	assert_int_equal(h32(b[3].p + 8), 0);
	assert_int_equal(hts(b[3].p + 12), T0);
	assert_int_equal(h32(b[3].p + 20), 5);
	assert_int_equal(h32(b[3].p + 24), 5);
	assert_memory_equal(b[3].p + 28, d0, 5);
	assert_int_equal(b[3].p[33] | b[3].p[34] | b[3].p[35], 0);
	assert_int_equal(hand_opts(&b[3], 36, o, 8), 2);
	assert_opt_str(&o[0], 1, "abc");
	assert_int_equal(o[1].code, 2);
	assert_int_equal(o[1].len, 4);
	assert_int_equal(h32(o[1].val), 2);
	assert_int_equal(b[3].len, 36 + 8 + 8 + 4 + 4);

	/* EPB 1: direction unknown and no comment: no options, not even endofopt. */
	assert_int_equal(h32(b[4].p + 8), 1);
	assert_int_equal(hts(b[4].p + 12), T0 + 1);
	assert_int_equal(b[4].len, 28 + 8 + 4);
	assert_int_equal(hand_opts(&b[4], 36, o, 8), 0);

	/* EPB 2: 3 of 100 bytes, inbound, "" writes no comment. */
	assert_int_equal(h32(b[5].p + 20), 3);
	assert_int_equal(h32(b[5].p + 24), 100);
	assert_int_equal(hand_opts(&b[5], 32, o, 8), 1);
	assert_int_equal(o[0].code, 2);
	assert_int_equal(h32(o[0].val), 1);

	/* ISB 0: stamped at the end; start/end as high+low words; 2 packets on if 0. */
	assert_int_equal(b[6].type, 5);
	assert_int_equal(h32(b[6].p + 8), 0);
	assert_int_equal(hts(b[6].p + 12), T0 + 3);
	assert_int_equal(hand_opts(&b[6], 20, o, 8), 5);
	assert_opt_str(&o[0], 1, "drops");
	for (i = 1; i < 5; i++)
		assert_int_equal(o[i].len, 8);
	assert_int_equal(o[1].code, 2);
	assert_int_equal(hts(o[1].val), T0 - 10);
	assert_int_equal(o[2].code, 3);
	assert_int_equal(hts(o[2].val), T0 + 3);
	assert_int_equal(o[3].code, 4);
	assert_int_equal(h64(o[3].val), 2);
	assert_int_equal(o[4].code, 5);
	assert_int_equal(h64(o[4].val), 17);

	/* ISB 1: one packet, no drops, no comment. */
	assert_int_equal(h32(b[7].p + 8), 1);
	assert_int_equal(hand_opts(&b[7], 20, o, 8), 4);
	assert_int_equal(h64(o[2].val), 1);
	assert_int_equal(h64(o[3].val), 0);
	free(buf);
}

/*
 * pcapng_open_section: each comment its own opt_comment in the SHB, after
 * shb_userappl, padded; the reader sees the first; more than 4 are refused.
 */
static void test_pcapng_section_comments(void **state)
{
	static const char *const notes[] = { "host=node-1", "run_id=r 2", NULL };
	static const char *const five[] = { "a", "b", "c", "d", "e", NULL };
	const char *path = tmp_path("shb-comments.pcapng");
	struct pcapng_reader *r = NULL;
	struct pcapng_writer *w = NULL;
	struct pcapng_block blk;
	struct hblock b[4];
	struct hopt o[8];
	uint8_t *buf;
	size_t len;

	assert_int_equal(pcapng_open_section(&w, path, "t", notes), 0);
	assert_int_equal(pcapng_close(w), 0);
	buf = slurp(path, &len);
	assert_int_equal(hand_blocks(buf, len, b, 4), 1);
	assert_int_equal(hand_opts(&b[0], 24, o, 8), 3);
	assert_opt_str(&o[0], 4, "t");
	assert_opt_str(&o[1], 1, "host=node-1");
	assert_opt_str(&o[2], 1, "run_id=r 2");
	assert_int_equal(b[0].len, 24 + 8 + 16 + 16 + 4 + 4);
	free(buf);

	assert_int_equal(pcapng_reader_open(&r, path), 0);
	assert_int_equal(pcapng_reader_next(r, &blk), 1);
	assert_int_equal(blk.kind, PCAPNG_SHB);
	assert_string_equal(blk.comment, "host=node-1");
	pcapng_reader_close(r);

	assert_int_equal(pcapng_open_section(&w, path, "t", five), -EINVAL);
	assert_null(w);
}

/* ---- files, modes, errors ---- */

static void test_pcapng_file_mode_is_0600(void **state)
{
	const char *fresh = tmp_path("mode-new.pcapng"), *old = tmp_path("mode-old.pcapng");
	struct pcapng_writer *w = NULL;
	mode_t saved = umask(0);	/* the mode must not rely on the caller's umask */
	struct stat st;
	int fd;

	assert_int_equal(pcapng_open(&w, fresh, NULL), 0);
	umask(saved);
	assert_int_equal(pcapng_close(w), 0);
	assert_int_equal(stat(fresh, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* A world-readable leftover must not receive the new capture as is. */
	fd = open(old, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	assert_int_equal(pcapng_open(&w, old, NULL), 0);
	assert_int_equal(pcapng_close(w), 0);
	assert_int_equal(stat(old, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 28);	/* truncated, then a bare SHB */
}

/* ---- an existing name: never followed, never someone else's file ---- */

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* path still holds exactly text: nothing was written or truncated. */
static void still_holds(const char *path, const char *text)
{
	size_t len;
	uint8_t *buf = slurp(path, &len);

	assert_int_equal(len, strlen(text));
	assert_memory_equal(buf, text, len);
	free(buf);
}

/*
 * Root writing -w /tmp/cap.pcapng where a user planted a symlink to a file
 * of their choice: refused, the target untouched, nothing created through a
 * dangling one either.
 */
static void test_pcapng_never_writes_through_a_symlink(void **state)
{
	const char *victim = tmp_path("victim"), *link = tmp_path("planted.pcapng");
	const char *dangling = tmp_path("dangling.pcapng"), *nowhere = tmp_path("created-through");
	struct pcapng_writer *w = (struct pcapng_writer *)1;
	struct stat st;

	put_file(victim, "precious", 0644);
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(pcapng_open(&w, link, "t"), -ELOOP);
	assert_null(w);
	still_holds(victim, "precious");
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	assert_int_equal(symlink(nowhere, dangling), 0);
	assert_int_equal(pcapng_open(&w, dangling, "t"), -ELOOP);
	assert_int_equal(lstat(nowhere, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(pcapng_open_strerror(-ELOOP), "symbolic link"));
}

static volatile sig_atomic_t guard_fired;

static void on_guard(int sig)
{
	guard_fired = 1;
}

/*
 * pcapng_open(path) with a SIGALRM (no SA_RESTART) armed: an open that
 * blocks (a FIFO without a reader) fails with -EINTR instead of hanging.
 */
static int open_guarded(struct pcapng_writer **w, const char *path)
{
	struct sigaction sa = { .sa_handler = on_guard }, old;
	int ret;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	guard_fired = 0;
	alarm(2);
	ret = pcapng_open(w, path, "t");
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	if (ret == 0)
		pcapng_close(*w);
	return ret;
}

/* FIFOs (with or without a reader), sockets, devices, directories: refused, at once. */
static void test_pcapng_refuses_what_is_not_a_regular_file(void **state)
{
	const char *fifo = tmp_path("cap.fifo"), *sock = tmp_path("cap.sock");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pcapng_writer *w = NULL;
	char buf[64];
	int rd, sfd;

	assert_int_equal(mkfifo(fifo, 0666), 0);
	assert_int_equal(open_guarded(&w, fifo), -ENXIO);
	assert_false(guard_fired);
	/* With a reader the open succeeds; the check on the descriptor refuses it. */
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(open_guarded(&w, fifo), -ENXIO);
	assert_int_equal(read(rd, buf, sizeof(buf)), 0);	/* nothing was written into it */
	close(rd);

	sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sfd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	assert_int_equal(bind(sfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(open_guarded(&w, sock), -ENXIO);
	close(sfd);

	assert_int_equal(open_guarded(&w, "/dev/null"), -ENXIO);
	assert_int_equal(open_guarded(&w, tmpdir), -EISDIR);
	assert_non_null(strstr(pcapng_open_strerror(-ENXIO), "not a regular file"));
}

/* A file with another name elsewhere (a hard link) is not truncated. */
static void test_pcapng_refuses_a_file_with_other_links(void **state)
{
	const char *orig = tmp_path("linked"), *alias = tmp_path("alias.pcapng");
	struct pcapng_writer *w = NULL;

	put_file(orig, "kept", 0600);
	assert_int_equal(link(orig, alias), 0);
	assert_int_equal(pcapng_open(&w, alias, "t"), -EMLINK);
	still_holds(orig, "kept");
	assert_non_null(strstr(pcapng_open_strerror(-EMLINK), "hard link"));
}

/* A file another user left in a shared directory is not ours to truncate. */
static void test_pcapng_refuses_another_users_file(void **state)
{
	const char *theirs = tmp_path("theirs.pcapng");
	struct pcapng_writer *w = NULL;

	if (geteuid() != 0)
		skip();		/* only root can give a file away */
	put_file(theirs, "their data", 0666);
	assert_int_equal(chown(theirs, 65534, 65534), 0);
	assert_int_equal(pcapng_open(&w, theirs, "t"), -EPERM);
	still_holds(theirs, "their data");
	assert_non_null(strstr(pcapng_open_strerror(-EPERM), "another user"));
}

/* ---- a full disk: the file ends with its last complete block ---- */

struct fsize_guard {
	struct rlimit saved;
	struct sigaction old_sa;
};

/* Writes past limit bytes fail with EFBIG, as on a full disk (no privileges needed). */
static void limit_file_size(struct fsize_guard *g, rlim_t limit)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	struct rlimit rl;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGXFSZ, &sa, &g->old_sa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &g->saved), 0);
	rl = g->saved;
	rl.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void unlimit_file_size(struct fsize_guard *g)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &g->saved), 0);
	sigaction(SIGXFSZ, &g->old_sa, NULL);
}

/* Packet i's size; packet big (if any) is larger than the 256 KiB buffer. */
static uint32_t full_size(int i, int big)
{
	return i == big ? 400000 : 1000 + (uint32_t)i * 7;
}

/*
 * Writes packets of full_size(i, big) until a call fails, the file limited to
 * limit bytes; then reads the file back with the strict reader and libpcap:
 * both must reach its end without error, every packet whole, and the
 * packets missing must be exactly those pcapng_unwritten counts.
 */
static void check_full_file(const char *path, rlim_t limit, int big, int want_last_call)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcapng_writer *w = NULL;
	struct pcapng_reader *r = NULL;
	struct pcapng_unwritten u;
	struct fsize_guard g;
	struct pcapng_block b;
	struct pcap_pkthdr *h;
	const u_char *pd;
	uint8_t *data = malloc(400000), *want = malloc(400000);
	uint64_t lost_bytes = 0;
	int calls = 0, ret = 0, ret_close, m = 0, i;
	uint32_t id;
	struct stat st;
	pcap_t *p;

	assert_non_null(data);
	assert_non_null(want);
	limit_file_size(&g, limit);
	ret = pcapng_open(&w, path, "t");
	if (!ret)
		ret = pcapng_add_interface(w, 147, 0, NULL, NULL, &id);
	while (!ret && calls < 200) {
		fill(data, full_size(calls, big), (unsigned)calls);
		ret = pcapng_write_packet(w, id, T0 + (uint64_t)calls, data, full_size(calls, big),
					  full_size(calls, big), 0, NULL);
		calls++;
	}
	pcapng_unwritten(w, &u);
	ret_close = pcapng_close(w);
	unlimit_file_size(&g);

	assert_int_equal(ret, -EFBIG);
	assert_int_equal(ret_close, -EFBIG);
	assert_int_equal(calls, want_last_call + 1);

	/* Readable to its end: no torn block. */
	assert_int_equal(pcapng_reader_open(&r, path), 0);
	while ((ret = pcapng_reader_next(r, &b)) == 1) {
		if (b.kind != PCAPNG_EPB)
			continue;
		fill(want, full_size(m, big), (unsigned)m);
		assert_int_equal(b.caplen, full_size(m, big));
		assert_memory_equal(b.data, want, b.caplen);
		m++;
	}
	if (ret)
		fail_msg("strict reader: %s", pcapng_reader_error(r));
	pcapng_reader_close(r);
	assert_true(m > 0);
	p = pcap_open_offline(path, errbuf);
	if (!p)
		fail_msg("libpcap: %s", errbuf);
	for (i = 0; i < m; i++)
		assert_int_equal(pcap_next_ex(p, &h, &pd), 1);
	assert_int_equal(pcap_next_ex(p, &h, &pd), PCAP_ERROR_BREAK);
	pcap_close(p);

	/* What is missing is exactly what was counted. */
	assert_false(u.torn);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, u.file_bytes);
	assert_true((uint64_t)st.st_size <= limit);
	assert_int_equal(m + (int)u.packets, calls);
	for (i = m; i < calls; i++)
		lost_bytes += full_size(i, big);
	assert_int_equal(u.bytes, lost_bytes);

	free(data);
	free(want);
}

/* The buffer reaches the limit mid-block: the blocks before stay, the rest is cut and counted. */
static void test_pcapng_full_disk_mid_buffer_keeps_whole_blocks(void **state)
{
	/*
	 * SHB (40 bytes) and IDB (32), then blocks of 32 + size rounded up to
	 * 4: the 256 KiB buffer first overflows at packet 163; flushing it
	 * writes 100003 bytes, then fails.
	 */
	check_full_file(tmp_path("full-mid.pcapng"), 100003, -1, 163);
}

/* A block larger than the buffer is written straight and cut off whole. */
static void test_pcapng_full_disk_in_a_large_block_cuts_it_off(void **state)
{
	/* Packets 0-39 (about 51 KB) fit; packet 40 (400000 bytes) goes past the limit. */
	check_full_file(tmp_path("full-big.pcapng"), 300001, 40, 40);
}

static void test_pcapng_missing_directory_is_enoent(void **state)
{
	struct pcapng_writer *w = (struct pcapng_writer *)1;

	assert_int_equal(pcapng_open(&w, tmp_path("no/such/dir/x.pcapng"), "t"), -ENOENT);
	assert_null(w);
	assert_int_equal(pcapng_open(&w, "", "t"), -EINVAL);
	assert_int_equal(pcapng_open(NULL, tmp_path("x"), "t"), -EINVAL);
}

/* Points fd 1 at fd (pcapng_open refuses devices and pipes by name); returns the old fd 1. */
static int stdout_to(int fd)
{
	int saved;

	fflush(stdout);
	saved = dup(1);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 1), 1);
	return saved;
}

static void stdout_back(int saved)
{
	assert_int_equal(dup2(saved, 1), 1);
	close(saved);
}

/*
 * /dev/full (as standard output) fails every write with ENOSPC: the first
 * error sticks to the writer, and the packets it held are counted.
 */
static void test_pcapng_write_error_is_sticky(void **state)
{
	static uint8_t big[300 * 1024];
	static const int want[] = { 0, 0, 0, -ENOSPC, -ENOSPC, -ENOSPC, -ENOSPC, -ENOSPC, -ENOSPC,
				    0, 0, -ENOSPC, -ENOSPC, -ENOSPC };
	struct pcapng_writer *w = NULL;
	struct pcapng_unwritten u1, u2;
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC), saved, r[16], n = 0, i;
	uint32_t id;

	assert_true(full >= 0);
	saved = stdout_to(full);
	/* No cmocka output until fd 1 is back. */
	r[n++] = pcapng_open(&w, "-", "t");
	r[n++] = pcapng_add_interface(w, 147, 0, "x", NULL, &id);
	r[n++] = pcapng_write_packet(w, id, T0, "abcd", 4, 4, 0, NULL);
	r[n++] = pcapng_flush(w);
	r[n++] = pcapng_write_packet(w, id, T0, "abcd", 4, 4, 0, NULL);
	r[n++] = pcapng_add_interface(w, 147, 0, "y", NULL, &id);
	r[n++] = pcapng_write_stats(w, 0, 0, 1, 0, NULL);
	r[n++] = pcapng_flush(w);
	pcapng_unwritten(w, &u1);
	r[n++] = pcapng_close(w);

	/* A block larger than the buffer goes straight to write(): same error. */
	r[n++] = pcapng_open(&w, "-", "t");
	r[n++] = pcapng_add_interface(w, 147, 0, "x", NULL, &id);
	r[n++] = pcapng_write_packet(w, id, T0, big, sizeof(big), sizeof(big), 0, NULL);
	r[n++] = pcapng_write_packet(w, id, T0, "abcd", 4, 4, 0, NULL);
	pcapng_unwritten(w, &u2);
	r[n++] = pcapng_close(w);
	stdout_back(saved);
	close(full);

	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++)
		assert_int_equal(r[i], want[i]);
	/* The first packet was accepted, then lost with the buffer; the later one was refused. */
	assert_int_equal(u1.packets, 1);
	assert_int_equal(u1.bytes, 4);
	assert_int_equal(u1.file_bytes, 0);
	assert_false(u1.torn);
	assert_int_equal(u2.packets, 1);
	assert_int_equal(u2.bytes, sizeof(big));
	assert_false(u2.torn);
	assert_int_equal(pcapng_close(NULL), 0);
	assert_int_equal(pcapng_bytes_written(NULL), 0);
}

/* Refused calls write nothing: the file holds exactly the accepted blocks. */
static void test_pcapng_bad_arguments_are_einval_and_write_nothing(void **state)
{
	static char long_comment[70000];
	const char *path = tmp_path("badargs.pcapng");
	struct pcapng_writer *w = NULL;
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	uint64_t before;
	uint32_t id;
	int kinds[8], n = 0, ret;

	memset(long_comment, 'x', sizeof(long_comment) - 1);
	assert_int_equal(pcapng_open(&w, path, long_comment), -EINVAL);
	assert_int_equal(pcapng_open(&w, path, "t"), 0);
	assert_int_equal(pcapng_write_packet(w, 0, T0, "ab", 2, 2, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_add_interface(w, 101, 100, long_comment, NULL, &id), -EINVAL);
	assert_int_equal(pcapng_add_interface(w, 101, 100, NULL, long_comment, &id), -EINVAL);
	assert_int_equal(pcapng_add_interface(w, 101, 100, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(pcapng_add_interface(NULL, 101, 100, NULL, NULL, &id), -EINVAL);
	assert_int_equal(pcapng_add_interface(w, 101, 100, "ok", NULL, &id), 0);
	before = pcapng_bytes_written(w);

	assert_int_equal(pcapng_write_packet(w, 1, T0, "ab", 2, 2, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_write_packet(w, 0, T0, "ab", 2, 1, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_write_packet(w, 0, T0, NULL, 2, 2, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_write_packet(w, 0, T0, "ab", 2, 2, 3, NULL), -EINVAL);
	assert_int_equal(pcapng_write_packet(w, 0, T0, "ab", 2, 2, -1, NULL), -EINVAL);
	assert_int_equal(pcapng_write_packet(w, 0, T0, "ab", 2, 2, 0, long_comment), -EINVAL);
	/* Over the interface's snaplen of 100; data is never read. */
	assert_int_equal(pcapng_write_packet(w, 0, T0, "ab", 101, 101, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_write_packet(NULL, 0, T0, "ab", 2, 2, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_write_stats(w, 1, 0, 1, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_write_stats(w, 0, 2, 1, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_write_stats(w, 0, 0, 1, 0, long_comment), -EINVAL);
	assert_int_equal(pcapng_write_stats(NULL, 0, 0, 1, 0, NULL), -EINVAL);
	assert_int_equal(pcapng_flush(NULL), -EINVAL);
	assert_int_equal(pcapng_bytes_written(w), before);

	/* 65535 bytes is the longest comment an option holds. */
	long_comment[65535] = '\0';
	assert_int_equal(pcapng_write_packet(w, 0, T0, "ab", 2, 2, 0, long_comment), 0);
	assert_int_equal(pcapng_close(w), 0);

	assert_int_equal(pcapng_reader_open(&r, path), 0);
	while ((ret = pcapng_reader_next(r, &b)) == 1) {
		assert_true(n < 8);
		kinds[n++] = b.kind;
		if (b.kind == PCAPNG_EPB)
			assert_int_equal(strlen(b.comment), 65535);
	}
	assert_int_equal(ret, 0);
	assert_int_equal(n, 3);
	assert_int_equal(kinds[0], PCAPNG_SHB);
	assert_int_equal(kinds[1], PCAPNG_IDB);
	assert_int_equal(kinds[2], PCAPNG_EPB);
	pcapng_reader_close(r);
}

/* Blocks larger than the 256 KiB buffer bypass it; the order of blocks must hold. */
static void test_pcapng_blocks_larger_than_buffer_keep_order(void **state)
{
	static const uint32_t sizes[] = { 10, 1 << 20, 11, 262144 - 28, 262144 - 27, 3, 300000, 5 };
	const size_t npk = sizeof(sizes) / sizeof(sizes[0]);
	const char *path = tmp_path("big.pcapng");
	struct pcapng_writer *w = NULL;
	uint8_t *data = malloc(1 << 20), *buf, *want = malloc(1 << 20);
	struct hblock b[16];
	uint32_t id;
	size_t i, len;

	assert_non_null(data);
	assert_non_null(want);
	assert_int_equal(pcapng_open(&w, path, "t"), 0);
	assert_int_equal(pcapng_add_interface(w, 147, 0, NULL, NULL, &id), 0);
	for (i = 0; i < npk; i++) {
		fill(data, sizes[i], (unsigned)i);
		assert_int_equal(pcapng_write_packet(w, id, T0 + i, data, sizes[i], sizes[i],
						     0, NULL), 0);
	}
	len = (size_t)pcapng_bytes_written(w);
	assert_int_equal(pcapng_close(w), 0);
	free(data);

	buf = slurp(path, &i);
	assert_int_equal(i, len);
	assert_int_equal(hand_blocks(buf, len, b, 16), 2 + npk);
	for (i = 0; i < npk; i++) {
		const struct hblock *e = &b[2 + i];

		assert_int_equal(e->type, 6);
		assert_int_equal(hts(e->p + 12), T0 + i);
		assert_int_equal(h32(e->p + 20), sizes[i]);
		fill(want, sizes[i], (unsigned)i);
		assert_memory_equal(e->p + 28, want, sizes[i]);
	}
	free(want);
	free(buf);
}

/* The largest block the writer makes is one the reader accepts; one word more is refused. */
static void test_pcapng_largest_block_is_readable(void **state)
{
	const uint32_t max_caplen = 16 * 1024 * 1024 - 32 - 4;	/* block of 16 MiB - 4 */
	const char *path = tmp_path("max.pcapng");
	struct pcapng_writer *w = NULL;
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	uint8_t *data = malloc(max_caplen + 4);
	uint32_t id;

	assert_non_null(data);
	fill(data, max_caplen + 4, 3);
	assert_int_equal(pcapng_open(&w, path, "t"), 0);
	assert_int_equal(pcapng_add_interface(w, 147, 0, NULL, NULL, &id), 0);
	assert_int_equal(pcapng_write_packet(w, id, T0, data, max_caplen + 1, max_caplen + 1,
					     0, NULL), -EINVAL);
	assert_int_equal(pcapng_write_packet(w, id, T0, data, max_caplen, max_caplen, 0, NULL), 0);
	assert_int_equal(pcapng_write_packet(w, id, T0, data, max_caplen - 4, max_caplen - 4,
					     PCAPNG_DIR_INBOUND, NULL), -EINVAL);
	assert_int_equal(pcapng_close(w), 0);

	assert_int_equal(pcapng_reader_open(&r, path), 0);
	assert_int_equal(pcapng_reader_next(r, &b), 1);
	assert_int_equal(pcapng_reader_next(r, &b), 1);
	assert_int_equal(pcapng_reader_next(r, &b), 1);
	assert_int_equal(b.kind, PCAPNG_EPB);
	assert_int_equal(b.caplen, max_caplen);
	assert_memory_equal(b.data, data, max_caplen);
	assert_int_equal(pcapng_reader_next(r, &b), 0);
	pcapng_reader_close(r);
	free(data);
}

/* "-" writes to fd 1 and leaves it open for the process. */
static void test_pcapng_stdout_is_flushed_not_closed(void **state)
{
	const char *path = tmp_path("stdout.pcapng");
	struct pcapng_writer *w = NULL;
	int saved, fd, ret_open, ret_if, ret_pkt, ret_close, fd1_open;
	ssize_t marker;
	struct hblock b[8];
	uint8_t *buf;
	uint32_t id = 99;
	size_t len;

	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, 1), 1);
	close(fd);
	/* No cmocka output until stdout is back: it would land in the file. */
	ret_open = pcapng_open(&w, "-", "t");
	ret_if = ret_open ? ret_open : pcapng_add_interface(w, 101, 0, NULL, NULL, &id);
	ret_pkt = ret_open ? ret_open : pcapng_write_packet(w, id, T0, "hello", 5, 5, 0, NULL);
	ret_close = pcapng_close(w);
	fd1_open = fcntl(1, F_GETFD) != -1;
	marker = write(1, "END!", 4);
	dup2(saved, 1);
	close(saved);

	assert_int_equal(ret_open, 0);
	assert_int_equal(ret_if, 0);
	assert_int_equal(ret_pkt, 0);
	assert_int_equal(ret_close, 0);
	assert_true(fd1_open);
	assert_int_equal(marker, 4);
	buf = slurp(path, &len);
	assert_true(len > 4);
	assert_memory_equal(buf + len - 4, "END!", 4);
	assert_int_equal(hand_blocks(buf, len - 4, b, 8), 3);
	assert_memory_equal(b[2].p + 28, "hello", 5);
	free(buf);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

/* The reading end of the pipe: slow, so the writer blocks and signals cut its writes short. */
static void slow_reader(int rfd, const char *path)
{
	char buf[4096];
	ssize_t n;
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (out < 0)
		_exit(2);
	while ((n = read(rfd, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			_exit(3);
		usleep(20);
	}
	_exit(n < 0 ? 4 : 0);
}

/* Reads nothing until a byte comes on go, then all of rfd into path. */
static void late_reader(int go, int rfd, const char *path)
{
	static char buf[1 << 16];
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;
	char c;

	if (out < 0 || read(go, &c, 1) != 1)
		_exit(5);
	while ((n = read(rfd, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			_exit(3);
	_exit(n < 0 ? 4 : 0);
}

/*
 * With a writing thread, a reader that takes nothing holds up nobody: the
 * packets go on being taken, those that find 32 MiB waiting are left out
 * and counted, and the file has every other one, whole and in order.
 */
static void test_pcapng_write_behind_leaves_out_and_counts_when_behind(void **state)
{
	enum { N = 3000, SIZE = 20000 };
	const char *out_path = tmp_path("behind.pcapng");
	struct pcapng_writer *w = NULL;
	struct pcapng_unwritten u;
	struct hblock *b = calloc(N + 8, sizeof(*b));
	uint8_t *data = malloc(SIZE), *buf;
	int pfd[2], gfd[2], status, ret = 0, ret_close, i, n, saved;
	uint64_t prev = 0, ts;
	uint32_t id;
	size_t len;
	pid_t child;

	assert_non_null(b);
	assert_non_null(data);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(pipe(gfd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pfd[1]);
		close(gfd[1]);
		late_reader(gfd[0], pfd[0], out_path);
	}
	close(pfd[0]);
	close(gfd[0]);
	saved = stdout_to(pfd[1]);
	close(pfd[1]);
	ret = pcapng_open(&w, "-", "t");
	if (!ret) {
		pcapng_write_behind(w);
		ret = pcapng_add_interface(w, 147, 0, NULL, NULL, &id);
	}
	for (i = 0; !ret && i < N; i++) {
		fill(data, SIZE, (unsigned)i);
		ret = pcapng_write_packet(w, id, T0 + (uint64_t)i, data, SIZE, SIZE, 0, NULL);
	}
	pcapng_unwritten(w, &u);
	assert_int_equal(write(gfd[1], "g", 1), 1);
	ret_close = pcapng_close(w);
	stdout_back(saved);
	close(gfd[1]);
	while (waitpid(child, &status, 0) < 0)
		assert_int_equal(errno, EINTR);

	assert_int_equal(ret, 0);
	assert_int_equal(ret_close, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* 60 MB against 32 MiB of buffers and a pipe: some must have been left out. */
	assert_true(u.slow_packets > 0);
	assert_int_equal(u.packets, u.slow_packets);
	assert_int_equal(u.bytes, u.slow_bytes);
	assert_int_equal(u.slow_bytes, u.slow_packets * SIZE);
	buf = slurp(out_path, &len);
	n = hand_blocks(buf, len, b, N + 8);
	assert_int_equal(n, 2 + N - (int)u.slow_packets);
	for (i = 2; i < n; i++) {
		ts = ((uint64_t)h32(b[i].p + 12) << 32 | h32(b[i].p + 16));
		assert_true(ts >= T0 && ts < T0 + N && (i == 2 || ts > prev));
		prev = ts;
		assert_int_equal(h32(b[i].p + 20), SIZE);
		fill(data, SIZE, (unsigned)(ts - T0));
		assert_memory_equal(b[i].p + 28, data, SIZE);
	}
	free(buf);
	free(b);
	free(data);
}

/*
 * A signal without SA_RESTART during a blocked write() to a pipe makes it
 * return short (or EINTR): every byte must still arrive, in order.
 */
static void test_pcapng_pipe_with_signals_loses_nothing(void **state)
{
	const char *out_path = tmp_path("pipe.pcapng");
	struct itimerval tv = { { 0, 300 }, { 0, 300 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa = { .sa_handler = on_alarm }, old_sa;
	struct pcapng_writer *w = NULL;
	int pfd[2], status, ret_open, ret = 0, ret_close;
	uint8_t *data = malloc(400000), *want = malloc(400000), *buf;
	struct hblock *b = calloc(256, sizeof(*b));
	uint32_t id, size;
	uint64_t written = 0;
	size_t len;
	pid_t child;
	int i, n, saved;

	assert_non_null(data);
	assert_non_null(want);
	assert_non_null(b);
	assert_int_equal(pipe(pfd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pfd[1]);
		slow_reader(pfd[0], out_path);
	}
	close(pfd[0]);
	/* A pipe is written as standard output (by name it is refused). No cmocka output until fd 1 is back. */
	saved = stdout_to(pfd[1]);
	close(pfd[1]);
	ret_open = pcapng_open(&w, "-", "t");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old_sa);
	alarms = 0;
	setitimer(ITIMER_REAL, &tv, NULL);
	if (!ret_open)
		ret = pcapng_add_interface(w, 147, 0, NULL, NULL, &id);
	for (i = 0; !ret_open && !ret && i < 200; i++) {
		size = i % 10 == 9 ? 400000 : 20000 + (uint32_t)i * 97;
		fill(data, size, (unsigned)i);
		ret = pcapng_write_packet(w, id, T0 + (uint64_t)i, data, size, size, 0, NULL);
	}
	written = pcapng_bytes_written(w);
	ret_close = pcapng_close(w);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	stdout_back(saved);	/* closes the last write end: the reader sees the end */
	while (waitpid(child, &status, 0) < 0)
		assert_int_equal(errno, EINTR);

	assert_int_equal(ret_open, 0);
	assert_int_equal(ret, 0);
	assert_int_equal(ret_close, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	print_message("%d signals during the writes\n", (int)alarms);
	buf = slurp(out_path, &len);
	assert_int_equal(len, written);
	n = hand_blocks(buf, len, b, 256);
	assert_int_equal(n, 2 + 200);
	for (i = 0; i < 200; i++) {
		size = i % 10 == 9 ? 400000 : 20000 + (uint32_t)i * 97;
		fill(want, size, (unsigned)i);
		assert_int_equal(h32(b[2 + i].p + 20), size);
		assert_memory_equal(b[2 + i].p + 28, want, size);
	}
	free(buf);
	free(b);
	free(data);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcapng_libpcap_reads_raw_ip_file),
		cmocka_unit_test(test_pcapng_libpcap_reads_two_ethernet_interfaces),
		cmocka_unit_test(test_pcapng_strict_reader_reads_back_every_field),
		cmocka_unit_test(test_pcapng_tshark_dissects_fields_comments_checksums),
		cmocka_unit_test(test_pcapng_block_layout_by_hand),
		cmocka_unit_test(test_pcapng_section_comments),
		cmocka_unit_test(test_pcapng_file_mode_is_0600),
		cmocka_unit_test(test_pcapng_never_writes_through_a_symlink),
		cmocka_unit_test(test_pcapng_refuses_what_is_not_a_regular_file),
		cmocka_unit_test(test_pcapng_refuses_a_file_with_other_links),
		cmocka_unit_test(test_pcapng_refuses_another_users_file),
		cmocka_unit_test(test_pcapng_full_disk_mid_buffer_keeps_whole_blocks),
		cmocka_unit_test(test_pcapng_full_disk_in_a_large_block_cuts_it_off),
		cmocka_unit_test(test_pcapng_missing_directory_is_enoent),
		cmocka_unit_test(test_pcapng_write_error_is_sticky),
		cmocka_unit_test(test_pcapng_bad_arguments_are_einval_and_write_nothing),
		cmocka_unit_test(test_pcapng_blocks_larger_than_buffer_keep_order),
		cmocka_unit_test(test_pcapng_largest_block_is_readable),
		cmocka_unit_test(test_pcapng_stdout_is_flushed_not_closed),
		cmocka_unit_test(test_pcapng_pipe_with_signals_loses_nothing),
		cmocka_unit_test(test_pcapng_write_behind_leaves_out_and_counts_when_behind),
	};

	return cmocka_run_group_tests(tests, setup_dir, test_tmpdir_remove);
}
