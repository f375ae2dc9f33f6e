/* Writes the pcapng samples of testdata/pcapng (see regen.sh): valid files, fixed content. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "pcapng.h"
#include "tcpsynth.h"

#define T0	1700000000123456789ull

static const uint8_t c4[4] = { 10, 0, 0, 1 }, s4[4] = { 10, 0, 0, 2 };
static const uint8_t c6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t s6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

static void die(const char *what, int err)
{
	fprintf(stderr, "gen: %s: %d\n", what, err);
	exit(1);
}

/* One short HTTP/1.1 exchange over TCP, framed for linktype. */
static void conn(struct pcapng_writer *w, uint32_t ifc, uint16_t linktype, int v6, uint64_t t)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	const struct { int out; uint8_t flags; uint32_t seq, ack; const char *p; uint32_t len;
		       const char *comment; } segs[] = {
		{ 1, TCPSYNTH_SYN, 0, 0, NULL, 0, "pid 100 comm curl" },
		{ 0, TCPSYNTH_SYN | TCPSYNTH_ACK, 0, 1, NULL, 0, NULL },
		{ 1, TCPSYNTH_ACK | TCPSYNTH_PSH, 1, 1, req, sizeof(req) - 1, NULL },
		{ 0, TCPSYNTH_ACK | TCPSYNTH_PSH, 1, sizeof(req), resp, sizeof(resp) - 1, NULL },
		{ 1, TCPSYNTH_FIN | TCPSYNTH_ACK, sizeof(req), sizeof(resp), NULL, 0, "closed" },
	};
	uint8_t buf[256];
	size_t i;
	int n, err;

	for (i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		struct tcpsynth_seg s = {
			.family = v6 ? AF_INET6 : AF_INET,
			.saddr = segs[i].out ? (v6 ? c6 : c4) : (v6 ? s6 : s4),
			.daddr = segs[i].out ? (v6 ? s6 : s4) : (v6 ? c6 : c4),
			.sport = segs[i].out ? 50000 : 443, .dport = segs[i].out ? 443 : 50000,
			.seq = segs[i].seq, .ack = segs[i].ack, .flags = segs[i].flags,
			.window = 65535, .payload = segs[i].p, .len = segs[i].len,
		};

		n = linktype == PCAPNG_LINKTYPE_ETHERNET ? tcpsynth_build_eth(buf, sizeof(buf), &s)
							 : tcpsynth_build(buf, sizeof(buf), &s);
		if (n < 0)
			die("tcpsynth", n);
		err = pcapng_write_packet(w, ifc, t + i * 1000, buf, (uint32_t)n, (uint32_t)n,
					  segs[i].out ? PCAPNG_DIR_OUTBOUND : PCAPNG_DIR_INBOUND,
					  segs[i].comment);
		if (err)
			die("write_packet", err);
	}
}

static void sample(const char *path, uint16_t linktype, uint32_t nif)
{
	struct pcapng_writer *w;
	uint32_t i, id;
	char name[32];
	int err;

	err = pcapng_open(&w, path, "tlstap testdata");
	if (err)
		die(path, err);
	for (i = 0; i < nif; i++) {
		snprintf(name, sizeof(name), "pid %u", 100 + i);
		err = pcapng_add_interface(w, linktype, 262144, name, "openssl 3.0", &id);
		if (err)
			die("add_interface", err);
	}
	for (i = 0; i < nif; i++) {
		conn(w, i, linktype, 0, T0 + i * 100000);
		conn(w, i, linktype, 1, T0 + i * 100000 + 50000);
	}
	for (i = 0; i < nif; i++) {
		err = pcapng_write_stats(w, i, T0, T0 + 1000000, i, i ? "lost 1 chunk" : NULL);
		if (err)
			die("write_stats", err);
	}
	err = pcapng_close(w);
	if (err)
		die(path, err);
}

/* Big-endian words, for the one sample the writer (host order) cannot make. */
static void be32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	fwrite(b, 1, 4, f);
}

/* SHB, IDB with if_tsresol 2^-20 and if_tsoffset, one IPv4 packet, ISB; all big-endian. */
static void big_endian(const char *path)
{
	struct tcpsynth_seg s = {
		.family = AF_INET, .saddr = c4, .daddr = s4, .sport = 50000, .dport = 443,
		.seq = 1, .ack = 1, .flags = TCPSYNTH_ACK | TCPSYNTH_PSH, .window = 1024,
		.payload = "ping", .len = 4,
	};
	uint8_t pkt[64];
	int n = tcpsynth_build(pkt, sizeof(pkt), &s);
	FILE *f = fopen(path, "wb");

	if (!f || n != 44)
		die(path, -1);
	be32(f, 0x0A0D0D0A); be32(f, 28); be32(f, 0x1A2B3C4D);
	be32(f, 0x00010000); be32(f, 0xffffffff); be32(f, 0xffffffff); be32(f, 28);
	/* IDB: RAW, snaplen 0, if_tsresol 0x94 (2^-20 s), if_tsoffset 1000 s. */
	be32(f, 1); be32(f, 44); be32(f, 101 << 16); be32(f, 0);
	be32(f, 9 << 16 | 1); be32(f, 0x94000000);
	be32(f, 14 << 16 | 8); be32(f, 0); be32(f, 1000);
	be32(f, 0); be32(f, 44);
	/* EPB: 1699999000.5 s after the offset, in 2^-20 s units. */
	be32(f, 6); be32(f, 32 + 44 + 12); be32(f, 0);
	be32(f, (uint32_t)((1699999000ull << 20 | 1 << 19) >> 32));
	be32(f, (uint32_t)(1699999000ull << 20 | 1 << 19));
	be32(f, 44); be32(f, 44);
	fwrite(pkt, 1, 44, f);
	be32(f, 2 << 16 | 4); be32(f, 2);		/* epb_flags: outbound */
	be32(f, 0); be32(f, 32 + 44 + 12);
	/* ISB: ifdrop 5. */
	be32(f, 5); be32(f, 40); be32(f, 0); be32(f, 0); be32(f, 0);
	be32(f, 5 << 16 | 8); be32(f, 0); be32(f, 5);
	be32(f, 0); be32(f, 40);
	if (fclose(f))
		die(path, -1);
}

int main(void)
{
	sample("raw.pcapng", PCAPNG_LINKTYPE_RAW, 1);
	sample("eth2.pcapng", PCAPNG_LINKTYPE_ETHERNET, 2);
	big_endian("bigendian.pcapng");
	return 0;
}
