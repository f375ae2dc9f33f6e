/* Unit tests of the strict pcapng reader: hand-built files, libpcap as the reference, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pcapng.h"
#include "pcapng_read.h"

/* ---- files built byte by byte, in either byte order, without the writer ---- */

struct fb {
	uint8_t *p;
	size_t len, cap;
	bool be;
	size_t blk;		/* start of the open block */
};

static void fb_bytes(struct fb *f, const void *p, size_t n)
{
	if (f->len + n > f->cap) {
		f->cap = (f->len + n) * 2 + 64;
		f->p = realloc(f->p, f->cap);
		assert_non_null(f->p);
	}
	if (n)
		memcpy(f->p + f->len, p, n);
	f->len += n;
}

static void fb_u8(struct fb *f, uint8_t v)
{
	fb_bytes(f, &v, 1);
}

/* The low n bytes of v in the file's byte order. */
static void fb_uint(struct fb *f, uint64_t v, int n)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < n; i++)
		b[f->be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
	fb_bytes(f, b, (size_t)n);
}

static void fb_u16(struct fb *f, uint16_t v)
{
	fb_uint(f, v, 2);
}

static void fb_u32(struct fb *f, uint32_t v)
{
	fb_uint(f, v, 4);
}

static void fb_u64(struct fb *f, uint64_t v)
{
	fb_uint(f, v, 8);
}

static void fb_pad(struct fb *f)
{
	while (f->len % 4)
		fb_u8(f, 0);
}

static void fb_set32(struct fb *f, size_t at, uint32_t v)
{
	size_t save = f->len;

	f->len = at;
	fb_u32(f, v);
	f->len = save;
}

static void fb_begin(struct fb *f, uint32_t type)
{
	f->blk = f->len;
	fb_u32(f, type);
	fb_u32(f, 0);
}

/* Closes the open block: trailer, then both lengths. Returns the block's offset. */
static size_t fb_end(struct fb *f)
{
	uint32_t total;

	fb_pad(f);
	total = (uint32_t)(f->len + 4 - f->blk);
	fb_u32(f, total);
	fb_set32(f, f->blk + 4, total);
	return f->blk;
}

static void fb_opt(struct fb *f, uint16_t code, const void *val, uint16_t len)
{
	fb_u16(f, code);
	fb_u16(f, len);
	fb_bytes(f, val, len);
	fb_pad(f);
}

static void fb_opt_end(struct fb *f)
{
	fb_u16(f, 0);
	fb_u16(f, 0);
}

static size_t fb_shb(struct fb *f, const char *comment)
{
	fb_begin(f, 0x0A0D0D0A);
	fb_u32(f, 0x1A2B3C4D);
	fb_u16(f, 1);
	fb_u16(f, 0);
	fb_u64(f, UINT64_MAX);
	if (comment) {
		fb_opt(f, 1, comment, (uint16_t)strlen(comment));
		fb_opt_end(f);
	}
	return fb_end(f);
}

/* tsresol < 0: no if_tsresol option (the default, microseconds). */
static size_t fb_idb(struct fb *f, uint16_t linktype, const char *name, int tsresol)
{
	uint8_t r = (uint8_t)tsresol;

	fb_begin(f, 1);
	fb_u16(f, linktype);
	fb_u16(f, 0);
	fb_u32(f, 0);
	if (name)
		fb_opt(f, 2, name, (uint16_t)strlen(name));
	if (tsresol >= 0)
		fb_opt(f, 9, &r, 1);
	if (name || tsresol >= 0)
		fb_opt_end(f);
	return fb_end(f);
}

/* dir < 0: no epb_flags. */
static size_t fb_epb(struct fb *f, uint32_t ifc, uint64_t ts, const void *data, uint32_t caplen,
		     int dir, const char *comment)
{
	fb_begin(f, 6);
	fb_u32(f, ifc);
	fb_u32(f, (uint32_t)(ts >> 32));
	fb_u32(f, (uint32_t)ts);
	fb_u32(f, caplen);
	fb_u32(f, caplen + 10);
	fb_bytes(f, data, caplen);
	fb_pad(f);
	if (comment)
		fb_opt(f, 1, comment, (uint16_t)strlen(comment));
	if (dir >= 0) {
		fb_u16(f, 2);
		fb_u16(f, 4);
		fb_u32(f, (uint32_t)dir);
	}
	if (comment || dir >= 0)
		fb_opt_end(f);
	return fb_end(f);
}

static size_t fb_isb(struct fb *f, uint32_t ifc, uint64_t ts, uint64_t endtime, uint64_t drops)
{
	fb_begin(f, 5);
	fb_u32(f, ifc);
	fb_u32(f, (uint32_t)(ts >> 32));
	fb_u32(f, (uint32_t)ts);
	fb_u16(f, 3);
	fb_u16(f, 8);
	fb_u32(f, (uint32_t)(endtime >> 32));
	fb_u32(f, (uint32_t)endtime);
	fb_u16(f, 5);
	fb_u16(f, 8);
	fb_u64(f, drops);
	fb_opt_end(f);
	return fb_end(f);
}

/* ---- reading a byte buffer through a memfd, as the fuzz target does ---- */

struct rd {
	struct pcapng_reader *r;
	int fd;
};

static void rd_open(struct rd *rd, const uint8_t *p, size_t len)
{
	char path[64];

	rd->fd = memfd_create("test-pcapng", MFD_CLOEXEC);
	assert_true(rd->fd >= 0);
	assert_int_equal(write(rd->fd, p, len), (ssize_t)len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rd->fd);
	assert_int_equal(pcapng_reader_open(&rd->r, path), 0);
}

static void rd_close(struct rd *rd)
{
	pcapng_reader_close(rd->r);
	close(rd->fd);
}

/* Reads until the end or an error; returns it and sets *nblocks. */
static int read_all(const uint8_t *p, size_t len, int *nblocks, char *why, size_t whylen)
{
	struct pcapng_block b;
	struct rd rd;
	int ret;

	*nblocks = 0;
	rd_open(&rd, p, len);
	while ((ret = pcapng_reader_next(rd.r, &b)) == 1)
		(*nblocks)++;
	if (why)
		snprintf(why, whylen, "%s", pcapng_reader_error(rd.r));
	/* Errors are final. */
	assert_int_equal(pcapng_reader_next(rd.r, &b), ret);
	rd_close(&rd);
	return ret;
}

static void expect_ok(const struct fb *f, int blocks)
{
	char why[256];
	int n, ret = read_all(f->p, f->len, &n, why, sizeof(why));

	if (ret != 0 || n != blocks)
		fail_msg("got %d after %d blocks (want 0 after %d): %s", ret, n, blocks, why);
}

/* The reader must fail with -EINVAL, and say why, mentioning expect. */
static void expect_einval(const struct fb *f, int blocks_before, const char *expect)
{
	char why[256];
	int n, ret = read_all(f->p, f->len, &n, why, sizeof(why));

	if (ret != -EINVAL || n != blocks_before || !strstr(why, expect))
		fail_msg("got %d after %d blocks (want -EINVAL after %d), \"%s\" (want \"%s\")",
			 ret, n, blocks_before, why, expect);
}

static const uint8_t payload[7] = { 0x45, 1, 2, 3, 4, 5, 6 };
#define TS	1700000000123456789ull

/* SHB, IDB, EPB, ISB: the well-formed base of the malformed variants below. */
static void base_file(struct fb *f, bool be)
{
	memset(f, 0, sizeof(*f));
	f->be = be;
	fb_shb(f, "section comment");
	fb_idb(f, 101, "eth0", 9);
	fb_epb(f, 0, TS, payload, 7, 2, "hello");
	fb_isb(f, 0, TS + 5, TS + 4, 42);
}

static void check_base_blocks(const uint8_t *p, size_t len)
{
	struct pcapng_block b;
	struct rd rd;

	rd_open(&rd, p, len);
	assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
	assert_int_equal(b.kind, PCAPNG_SHB);
	assert_string_equal(b.comment, "section comment");
	assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
	assert_int_equal(b.kind, PCAPNG_IDB);
	assert_int_equal(b.if_id, 0);
	assert_int_equal(b.linktype, 101);
	assert_string_equal(b.if_name, "eth0");
	assert_null(b.if_description);
	assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
	assert_int_equal(b.kind, PCAPNG_EPB);
	assert_int_equal(b.ts_ns, TS);
	assert_int_equal(b.caplen, 7);
	assert_int_equal(b.origlen, 17);
	assert_memory_equal(b.data, payload, 7);
	assert_int_equal(b.direction, 2);
	assert_string_equal(b.comment, "hello");
	assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
	assert_int_equal(b.kind, PCAPNG_ISB);
	assert_int_equal(b.ts_ns, TS + 4);	/* isb_endtime wins over the block's time */
	assert_int_equal(b.ifdrop, 42);
	assert_null(b.comment);
	assert_int_equal(pcapng_reader_next(rd.r, &b), 0);
	rd_close(&rd);
}

/* libpcap reads the same bytes the same way: the hand-built files are right. */
static void check_libpcap_agrees(const uint8_t *p, size_t len)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	FILE *fp = fmemopen((void *)p, len, "rb");
	pcap_t *pc;

	assert_non_null(fp);
	pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc)
		fail_msg("libpcap: %s", errbuf);
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	assert_int_equal((uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec, TS);
	assert_int_equal(h->caplen, 7);
	assert_int_equal(h->len, 17);
	assert_memory_equal(data, payload, 7);
	assert_int_equal(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(pc);
}

static void test_pcapng_read_little_endian_hand_built(void **state)
{
	struct fb f;

	base_file(&f, false);
	check_libpcap_agrees(f.p, f.len);
	check_base_blocks(f.p, f.len);
	free(f.p);
}

static void test_pcapng_read_big_endian_section(void **state)
{
	struct fb f;

	base_file(&f, true);
	assert_int_equal(f.p[8], 0x1A);	/* really big-endian */
	check_libpcap_agrees(f.p, f.len);
	check_base_blocks(f.p, f.len);
	free(f.p);
}

/* Timestamps in each interface's if_tsresol, compared with values worked out by hand. */
static void test_pcapng_read_timestamp_resolutions(void **state)
{
	static const struct {
		int tsresol;
		uint64_t ts, ns;
	} cases[] = {
		{ -1, 1700000000123456ull, 1700000000123456000ull },	/* default: us */
		{ 6, 1700000000123456ull, 1700000000123456000ull },
		{ 3, 1700000000123ull, 1700000000123000000ull },
		{ 0, 1700000000ull, 1700000000000000000ull },
		{ 9, 1700000000123456789ull, 1700000000123456789ull },
		{ 12, 1700000000123456789ull, 1700000000123456ull },	/* ps: 1.7e6 s */
		{ 19, UINT64_MAX, UINT64_MAX / 10000000000ull },
		{ 0x80 | 10, 1700000000ull * 1024 + 512, 1700000000500000000ull },	/* 2^-10 s */
		{ 0x80 | 30, (1ull << 30) * 3 + (1ull << 29), 3500000000ull },
		{ 0x80 | 63, 1ull << 62, 500000000ull },
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct pcapng_block b;
	struct fb f = { 0 };
	struct rd rd;
	size_t i;

	fb_shb(&f, NULL);
	for (i = 0; i < n; i++)
		fb_idb(&f, 1, NULL, cases[i].tsresol);
	for (i = 0; i < n; i++)
		fb_epb(&f, (uint32_t)i, cases[i].ts, payload, 1, -1, NULL);
	rd_open(&rd, f.p, f.len);
	for (i = 0; i < 1 + n; i++)
		assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
	for (i = 0; i < n; i++) {
		uint64_t want = cases[i].ns;

		assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
		assert_int_equal(b.if_id, i);
		assert_int_equal(b.direction, 0);
		assert_null(b.comment);
		if (b.ts_ns != want)
			fail_msg("if_tsresol 0x%x: %llu ns, want %llu", cases[i].tsresol,
				 (unsigned long long)b.ts_ns, (unsigned long long)want);
	}
	assert_int_equal(pcapng_reader_next(rd.r, &b), 0);
	rd_close(&rd);
	free(f.p);
}

/* A valid file cut at every byte: whole blocks, then a clean end or -EINVAL; never more. */
static void test_pcapng_read_truncated_at_every_byte(void **state)
{
	size_t bounds[8], nb = 0, cut, i;
	struct fb f = { 0 };
	int n, ret, whole;

	bounds[nb++] = fb_shb(&f, "c");
	bounds[nb++] = fb_idb(&f, 101, "lo", 9);
	bounds[nb++] = fb_epb(&f, 0, TS, payload, 7, 1, "x");
	bounds[nb++] = fb_epb(&f, 0, TS, payload, 4, -1, NULL);
	bounds[nb++] = fb_isb(&f, 0, TS, TS, 1);
	bounds[nb] = f.len;
	for (cut = 0; cut <= f.len; cut++) {
		ret = read_all(f.p, cut, &n, NULL, 0);
		whole = 0;
		for (i = 1; i <= nb; i++)
			whole += bounds[i] <= cut;
		if (n != whole)
			fail_msg("cut at %zu: %d blocks, want %d", cut, n, whole);
		if (cut > 0 && (cut == f.len || bounds[whole] == cut))
			assert_int_equal(ret, 0);
		else
			assert_int_equal(ret, -EINVAL);
	}
	free(f.p);
}

static void test_pcapng_read_bad_block_lengths(void **state)
{
	struct fb f;
	size_t epb;

	/* Not a multiple of 4 (both copies agree, so only the rule catches it). */
	base_file(&f, false);
	epb = f.len;
	fb_epb(&f, 0, TS, payload, 7, -1, NULL);
	fb_set32(&f, epb + 4, 42);
	expect_einval(&f, 4, "not a multiple of 4");
	/* Under the 12 bytes of header and trailer. */
	fb_set32(&f, epb + 4, 8);
	expect_einval(&f, 4, "shorter than 12");
	/* Huge: refused before any allocation or read. */
	fb_set32(&f, epb + 4, 0xfffffff0);
	expect_einval(&f, 4, "over the");
	fb_set32(&f, epb + 4, 16 * 1024 * 1024 + 4);
	expect_einval(&f, 4, "over the");
	/* Long enough for the framing but not for an EPB's fields. */
	fb_set32(&f, epb + 4, 28);
	expect_einval(&f, 4, "shorter than 32");
	/* Leading length pointing elsewhere than the trailer. */
	fb_set32(&f, epb + 4, 36);
	expect_einval(&f, 4, "trailing length");
	free(f.p);

	/* A block running past the end of the file. */
	base_file(&f, false);
	epb = f.len;
	fb_epb(&f, 0, TS, payload, 7, -1, NULL);
	fb_set32(&f, epb + 4, 400);
	expect_einval(&f, 4, "truncated block");
	free(f.p);
}

static void test_pcapng_read_trailing_length_mismatch(void **state)
{
	struct fb f;

	base_file(&f, false);
	fb_set32(&f, f.len - 4, 48);
	expect_einval(&f, 3, "trailing length 48 differs");
	free(f.p);
}

/* A 16 MiB block (the limit) of an unknown type is read and skipped. */
static void test_pcapng_read_largest_block_accepted(void **state)
{
	struct pcapng_block b;
	struct fb f;
	struct rd rd;
	size_t at;

	base_file(&f, false);
	at = f.len;
	fb_begin(&f, 0x0BAD);
	while (f.len - at < 16 * 1024 * 1024 - 4)
		fb_u32(&f, 0x01020304);
	fb_end(&f);
	assert_int_equal(f.len - at, 16 * 1024 * 1024);
	fb_epb(&f, 0, TS, payload, 3, -1, NULL);
	rd_open(&rd, f.p, f.len);
	while (pcapng_reader_next(rd.r, &b) == 1 && b.kind != PCAPNG_OTHER)
		;
	assert_int_equal(b.kind, PCAPNG_OTHER);
	assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
	assert_int_equal(b.kind, PCAPNG_EPB);
	assert_int_equal(b.caplen, 3);
	assert_int_equal(pcapng_reader_next(rd.r, &b), 0);
	rd_close(&rd);
	free(f.p);
}

static void test_pcapng_read_epb_caplen_past_block(void **state)
{
	struct fb f;
	size_t epb;

	base_file(&f, false);
	epb = fb_epb(&f, 0, TS, payload, 7, -1, NULL);	/* room for 8 bytes */
	fb_set32(&f, epb + 20, 9);
	expect_einval(&f, 4, "captured length 9 exceeds");
	fb_set32(&f, epb + 20, 0xffffffff);
	expect_einval(&f, 4, "captured length 4294967295 exceeds");
	fb_set32(&f, epb + 20, 8);		/* all the room: valid */
	expect_ok(&f, 5);
	free(f.p);
}

static void test_pcapng_read_epb_unknown_interface(void **state)
{
	struct fb f = { 0 };

	/* Before any IDB. */
	fb_shb(&f, NULL);
	fb_epb(&f, 0, TS, payload, 7, -1, NULL);
	expect_einval(&f, 1, "interface 0 does not exist (the section has 0)");
	free(f.p);

	base_file(&f, false);
	fb_epb(&f, 1, TS, payload, 7, -1, NULL);
	expect_einval(&f, 4, "interface 1 does not exist (the section has 1)");
	free(f.p);

	/* A new section forgets the interfaces of the previous one. */
	base_file(&f, false);
	fb_shb(&f, NULL);
	fb_epb(&f, 0, TS, payload, 7, -1, NULL);
	expect_einval(&f, 5, "interface 0 does not exist");
	free(f.p);

	/* An ISB is checked the same way. */
	base_file(&f, false);
	fb_isb(&f, 3, TS, TS, 0);
	expect_einval(&f, 4, "interface 3 does not exist");
	free(f.p);
}

static void test_pcapng_read_options_past_block_end(void **state)
{
	struct fb f;
	size_t at;

	/* IDB: if_name claims 200 bytes. */
	memset(&f, 0, sizeof(f));
	fb_shb(&f, NULL);
	at = fb_idb(&f, 101, "eth0", 9);
	fb_set32(&f, at + 16, 2 | 200u << 16);	/* code 2, length 200 (little-endian) */
	expect_einval(&f, 1, "option 2 of length 200 runs past the block end");
	free(f.p);

	/* EPB: the comment claims one byte more than the block holds. */
	base_file(&f, false);
	at = fb_epb(&f, 0, TS, payload, 7, -1, "abcd");
	fb_set32(&f, at + 36, 1 | 9u << 16);	/* "abcd" + endofopt = 8 bytes */
	expect_einval(&f, 4, "runs past the block end");
	fb_set32(&f, at + 36, 1 | 8u << 16);	/* exactly to the trailer: fine, no endofopt */
	expect_ok(&f, 5);
	free(f.p);

	/* SHB: an option header cut by the trailer. */
	memset(&f, 0, sizeof(f));
	fb_begin(&f, 0x0A0D0D0A);
	fb_u32(&f, 0x1A2B3C4D);
	fb_u16(&f, 1);
	fb_u16(&f, 0);
	fb_u64(&f, UINT64_MAX);
	fb_u16(&f, 1);
	fb_u16(&f, 4);		/* 4 value bytes announced, none follow */
	fb_end(&f);
	expect_einval(&f, 0, "option 1 of length 4 runs past the block end");
	free(f.p);

	/* opt_endofopt must have length 0. */
	memset(&f, 0, sizeof(f));
	fb_shb(&f, NULL);
	at = fb_idb(&f, 101, "eth0", 9);
	fb_set32(&f, f.len - 8, 0 | 4u << 16);	/* the endofopt before the trailer */
	expect_einval(&f, 1, "opt_endofopt has length 4");
	free(f.p);
}

/*
 * f (an SHB, or the base file) and a block of type: fixed fields as given,
 * then one option; the reader must refuse it, saying expect.
 */
static void expect_bad_option(struct fb *f, uint32_t type, const void *fixed, size_t fixed_len,
			      uint16_t code, const void *val, uint16_t len, int blocks_before,
			      const char *expect)
{
	fb_begin(f, type);
	fb_bytes(f, fixed, fixed_len);
	fb_opt(f, code, val, len);
	fb_opt_end(f);
	fb_end(f);
	expect_einval(f, blocks_before, expect);
	free(f->p);
}

/* An SHB and an IDB with this if_tsresol: the reader must refuse it, saying expect. */
static void expect_bad_tsresol(int tsresol, const char *expect)
{
	struct fb f = { 0 };

	fb_shb(&f, NULL);
	fb_idb(&f, 101, NULL, tsresol);
	expect_einval(&f, 1, expect);
	free(f.p);
}

static void test_pcapng_read_fixed_size_options(void **state)
{
	static const uint8_t two[2] = { 9, 9 }, four[4] = { 2, 0, 0, 0 };
	/* Little-endian: IDB linktype 101, reserved, snaplen 0; EPB, ISB all zero. */
	static const uint8_t idb_fixed[8] = { 101 }, zeros[20];
	struct fb f;

	memset(&f, 0, sizeof(f));
	fb_shb(&f, NULL);
	expect_bad_option(&f, 1, idb_fixed, sizeof(idb_fixed), 9, two, 2, 1,
			  "if_tsresol has length 2");

	/* Resolutions finer than 64 bits can count. */
	expect_bad_tsresol(20, "if_tsresol 0x14 is too fine");
	expect_bad_tsresol(0x80 | 64, "if_tsresol 0xc0 is too fine");

	/* EPB: interface, timestamp (2 words), captured and original lengths. */
	base_file(&f, false);
	expect_bad_option(&f, 6, zeros, 20, 2, four, 2, 4, "epb_flags has length 2");

	/* ISB: interface, timestamp (2 words). */
	base_file(&f, false);
	expect_bad_option(&f, 5, zeros, 12, 5, four, 4, 4, "statistics option 5 has length 4");
}

/* Seconds-resolution timestamps that overflow 64-bit nanoseconds are refused. */
static void test_pcapng_read_timestamp_overflow(void **state)
{
	struct fb f = { 0 };

	fb_shb(&f, NULL);
	fb_idb(&f, 101, NULL, 0);
	fb_epb(&f, 0, 20000000000ull, payload, 1, -1, NULL);
	expect_einval(&f, 2, "timestamp 20000000000 out of range");
	free(f.p);
}

static void test_pcapng_read_not_pcapng(void **state)
{
	char errbuf[PCAP_ERRBUF_SIZE], path[] = "/tmp/tlstap-test-pcap-XXXXXX";
	pcap_dumper_t *d;
	struct fb f;
	pcap_t *dead;
	uint8_t *buf;
	int fd, n;
	long len;

	/* Empty input. */
	assert_int_equal(read_all((const uint8_t *)"", 0, &n, errbuf, sizeof(errbuf)), -EINVAL);
	assert_non_null(strstr(errbuf, "empty file"));

	/* A classic pcap file, written by libpcap itself. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	dead = pcap_open_dead(DLT_RAW, 65535);
	d = pcap_dump_open(dead, path);
	assert_non_null(d);
	pcap_dump_close(d);
	pcap_close(dead);
	fd = open(path, O_RDONLY);
	len = lseek(fd, 0, SEEK_END);
	buf = malloc((size_t)len);
	assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
	close(fd);
	unlink(path);
	assert_int_equal(read_all(buf, (size_t)len, &n, errbuf, sizeof(errbuf)), -EINVAL);
	assert_non_null(strstr(errbuf, "block at offset 0: a classic pcap file"));
	free(buf);

	/* Text. */
	assert_int_equal(read_all((const uint8_t *)"hello, world\n", 13, &n, errbuf,
				  sizeof(errbuf)), -EINVAL);
	assert_non_null(strstr(errbuf, "not a pcapng file"));

	/* Bad byte-order magic, then an unsupported major version. */
	base_file(&f, false);
	f.p[8] ^= 0xff;
	expect_einval(&f, 0, "bad byte-order magic");
	f.p[8] ^= 0xff;
	fb_set32(&f, 12, 2);	/* major 2, minor 0 */
	expect_einval(&f, 0, "unsupported pcapng version 2.0");
	/* Version 1.2 is fine. */
	fb_set32(&f, 12, 1 | 2u << 16);
	check_base_blocks(f.p, f.len);
	free(f.p);
}

/* Errors name the offset of the bad block; unknown blocks are passed over. */
static void test_pcapng_read_error_names_offset(void **state)
{
	struct pcapng_block b;
	char want[64];
	struct fb f;
	struct rd rd;
	size_t at;

	base_file(&f, false);
	fb_begin(&f, 0x0BAD);			/* custom block */
	fb_u32(&f, 32473);
	fb_end(&f);
	at = fb_epb(&f, 0, TS, payload, 7, -1, NULL);
	fb_set32(&f, f.len - 4, 4);
	rd_open(&rd, f.p, f.len);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
	assert_int_equal(pcapng_reader_next(rd.r, &b), 1);
	assert_int_equal(b.kind, PCAPNG_OTHER);
	assert_int_equal(pcapng_reader_next(rd.r, &b), -EINVAL);
	snprintf(want, sizeof(want), "block at offset %zu: trailing length 4", at);
	assert_non_null(strstr(pcapng_reader_error(rd.r), want));
	assert_int_equal(b.kind, PCAPNG_SHB);	/* zeroed, not half-filled */
	assert_null(b.data);
	assert_int_equal(pcapng_reader_next(rd.r, &b), -EINVAL);
	rd_close(&rd);
	free(f.p);
}

/* "-" reads standard input, which stays open. */
static void test_pcapng_read_stdin_dash(void **state)
{
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	struct fb f;
	int saved, fd, n = 0, ret;

	base_file(&f, false);
	fd = memfd_create("stdin", MFD_CLOEXEC);
	assert_int_equal(write(fd, f.p, f.len), (ssize_t)f.len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	saved = dup(0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	assert_int_equal(pcapng_reader_open(&r, "-"), 0);
	while ((ret = pcapng_reader_next(r, &b)) == 1)
		n++;
	pcapng_reader_close(r);
	assert_true(fcntl(0, F_GETFD) != -1);
	dup2(saved, 0);
	close(saved);
	assert_int_equal(ret, 0);
	assert_int_equal(n, 4);
	free(f.p);

	assert_int_equal(pcapng_reader_open(&r, "/nonexistent/x.pcapng"), -ENOENT);
	assert_null(r);
	assert_int_equal(pcapng_reader_open(&r, ""), -EINVAL);
	assert_int_equal(pcapng_reader_next(NULL, &b), -EINVAL);
	assert_string_equal(pcapng_reader_error(NULL), "");
	pcapng_reader_close(NULL);
}

/* Several sections one after another (cat a.pcapng b.pcapng) read as one stream. */
static void test_pcapng_read_concatenated_sections(void **state)
{
	struct pcapng_block b;
	struct fb f;
	struct rd rd;
	int kinds[16], n = 0, ret;

	base_file(&f, false);
	f.be = true;
	fb_shb(&f, "second, big-endian");
	fb_idb(&f, 1, "eth1", 6);
	fb_idb(&f, 1, "eth2", 9);
	fb_epb(&f, 1, TS, payload, 2, 1, NULL);
	/* An ISB with no options: the block's own time, no drops. */
	fb_begin(&f, 5);
	fb_u32(&f, 0);
	fb_u32(&f, 0);
	fb_u32(&f, 1700000000);
	fb_end(&f);
	rd_open(&rd, f.p, f.len);
	while ((ret = pcapng_reader_next(rd.r, &b)) == 1) {
		kinds[n++] = b.kind;
		if (n == 6) {
			assert_string_equal(b.if_name, "eth1");
			assert_int_equal(b.if_id, 0);
		}
		if (n == 9) {
			assert_int_equal(b.ts_ns, 1700000000000ull);	/* us */
			assert_int_equal(b.ifdrop, 0);
		}
	}
	assert_int_equal(ret, 0);
	assert_int_equal(n, 9);
	assert_int_equal(kinds[4], PCAPNG_SHB);
	assert_int_equal(kinds[7], PCAPNG_EPB);
	rd_close(&rd);
	free(f.p);
}

/* testdata/ relative to the repository root (tests run from there), or $TLSTAP_TESTDATA. */
static const char *td(const char *name)
{
	static char buf[4096];
	const char *root = getenv("TLSTAP_TESTDATA");

	snprintf(buf, sizeof(buf), "%s/pcapng/%s", root && *root ? root : "testdata", name);
	return buf;
}

/* The committed samples (fuzz seeds) are valid: libpcap and the reader see the same packets. */
static void test_pcapng_read_testdata_samples_match_libpcap(void **state)
{
	static const struct {
		const char *name;
		int packets, interfaces;
		uint64_t first_ts;
	} samples[] = {
		{ "raw.pcapng", 10, 1, 1700000000123456789ull },
		{ "eth2.pcapng", 20, 2, 1700000000123456789ull },
		{ "bigendian.pcapng", 1, 1, 1700000000500000000ull },	/* 2^-20 s + if_tsoffset */
	};
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcapng_reader *r;
	struct pcap_pkthdr *h;
	struct pcapng_block b;
	const u_char *data;
	size_t i;
	pcap_t *pc;
	int ret, pkts, ifs;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		pc = pcap_open_offline_with_tstamp_precision(td(samples[i].name),
							     PCAP_TSTAMP_PRECISION_NANO, errbuf);
		if (!pc)
			fail_msg("%s: libpcap: %s", samples[i].name, errbuf);
		assert_int_equal(pcapng_reader_open(&r, td(samples[i].name)), 0);
		pkts = ifs = 0;
		while ((ret = pcapng_reader_next(r, &b)) == 1) {
			ifs += b.kind == PCAPNG_IDB;
			if (b.kind != PCAPNG_EPB)
				continue;
			assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
			assert_int_equal((uint64_t)h->ts.tv_sec * 1000000000ull +
					 (uint64_t)h->ts.tv_usec, b.ts_ns);
			if (pkts == 0)
				assert_int_equal(b.ts_ns, samples[i].first_ts);
			assert_int_equal(h->caplen, b.caplen);
			assert_int_equal(h->len, b.origlen);
			assert_memory_equal(data, b.data, b.caplen);
			pkts++;
		}
		if (ret != 0)
			fail_msg("%s: %s", samples[i].name, pcapng_reader_error(r));
		assert_int_equal(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
		assert_int_equal(pkts, samples[i].packets);
		assert_int_equal(ifs, samples[i].interfaces);
		pcapng_reader_close(r);
		pcap_close(pc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcapng_read_little_endian_hand_built),
		cmocka_unit_test(test_pcapng_read_big_endian_section),
		cmocka_unit_test(test_pcapng_read_timestamp_resolutions),
		cmocka_unit_test(test_pcapng_read_truncated_at_every_byte),
		cmocka_unit_test(test_pcapng_read_bad_block_lengths),
		cmocka_unit_test(test_pcapng_read_trailing_length_mismatch),
		cmocka_unit_test(test_pcapng_read_largest_block_accepted),
		cmocka_unit_test(test_pcapng_read_epb_caplen_past_block),
		cmocka_unit_test(test_pcapng_read_epb_unknown_interface),
		cmocka_unit_test(test_pcapng_read_options_past_block_end),
		cmocka_unit_test(test_pcapng_read_fixed_size_options),
		cmocka_unit_test(test_pcapng_read_timestamp_overflow),
		cmocka_unit_test(test_pcapng_read_not_pcapng),
		cmocka_unit_test(test_pcapng_read_error_names_offset),
		cmocka_unit_test(test_pcapng_read_stdin_dash),
		cmocka_unit_test(test_pcapng_read_concatenated_sections),
		cmocka_unit_test(test_pcapng_read_testdata_samples_match_libpcap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
