/* The pcapng writer's O_DIRECT path: the same file as through the page cache, and exact counts on a full disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "test_util.h"
#include "pcapng.h"
#include "pcapng_dio.h"
#include "pcapng_read.h"

#define T0		1700000000123456789ull
#define NPKT		700
#define TMPFS_MAGIC	0x01021994

static int setup_dir(void **state)
{
	(void)state;
	return test_tmpdir_create("pcapng-dio");
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
}

/*
 * Packet i's length: from 1 byte to a full TLS record and a bit, so blocks
 * end at every offset modulo the 4 KiB alignment; one is larger than a
 * 256 KiB buffer.
 */
static uint32_t pkt_len(int i)
{
	if (i == 333)
		return 300000;
	return 1 + (uint32_t)((i * 2654435761u) % 17000u);
}

/* Whether the scratch directory's file system is expected to take O_DIRECT. */
static bool dio_expected(void)
{
	struct statfs sf;

	assert_int_equal(statfs(tmp_path(""), &sf), 0);
	return sf.f_type != TMPFS_MAGIC;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *buf = test_slurp(path, len);

	assert_non_null(buf);
	return buf;
}

/* Packet i: len bytes filled with seed i, at T0 + i. */
static int put_packet(struct pcapng_writer *w, uint32_t id, int i, uint32_t len, const char *comment)
{
	static uint8_t data[300000];

	fill(data, len, (unsigned)i);
	return pcapng_write_packet(w, id, T0 + (uint64_t)i, data, len, len, 0, comment);
}

static uint32_t len_3000(int i)
{
	(void)i;
	return 3000;
}

/* Reads path back whole, packet i being len_of(i) bytes filled with seed i: how many there are. */
static int read_back(const char *path, uint32_t (*len_of)(int i))
{
	static uint8_t want[300000];
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	int m = 0, ret;

	assert_int_equal(pcapng_reader_open(&r, path), 0);
	while ((ret = pcapng_reader_next(r, &b)) == 1) {
		if (b.kind != PCAPNG_EPB)
			continue;
		fill(want, len_of(m), (unsigned)m);
		assert_int_equal(b.caplen, len_of(m));
		assert_memory_equal(b.data, want, b.caplen);
		m++;
	}
	if (ret)
		fail_msg("strict reader: %s", pcapng_reader_error(r));
	pcapng_reader_close(r);
	return m;
}

/*
 * The capture of NPKT packets, flushed now and then (small flushes leave
 * tails under 4 KiB to carry), written behind, with or without O_DIRECT.
 */
static void write_capture(const char *path, bool direct, struct pcapng_unwritten *u)
{
	struct pcapng_writer *w = NULL;
	uint32_t id;
	int i;

	if (direct)
		unsetenv("TLSTAP_NO_DIRECT_IO");
	else
		setenv("TLSTAP_NO_DIRECT_IO", "1", 1);
	assert_int_equal(pcapng_open(&w, path, "dio test"), 0);
	pcapng_write_behind(w);
	assert_int_equal(pcapng_add_interface(w, 147, 0, "if0", NULL, &id), 0);
	for (i = 0; i < NPKT; i++) {
		assert_int_equal(put_packet(w, id, i, pkt_len(i), i % 5 ? NULL : "a comment"), 0);
		if (i % 37 == 0 || i % 101 == 3)
			assert_int_equal(pcapng_flush(w), 0);
		if (i == 500)
			assert_int_equal(pcapng_drain(w), 0);	/* the tail out, then on unaligned */
	}
	pcapng_unwritten(w, u);
	assert_int_equal(pcapng_close(w), 0);
	unsetenv("TLSTAP_NO_DIRECT_IO");
}

/* Byte for byte the file the page cache path writes; O_DIRECT was used for most of it. */
static void test_pcapng_direct_io_writes_the_same_file(void **state)
{
	const char *pd = tmp_path("direct.pcapng"), *pc = tmp_path("cached.pcapng");
	struct pcapng_unwritten ud, uc;
	uint8_t *fd_buf, *fc_buf;
	size_t ld, lc;

	(void)state;
	write_capture(pd, true, &ud);
	write_capture(pc, false, &uc);
	fd_buf = slurp(pd, &ld);
	fc_buf = slurp(pc, &lc);
	assert_int_equal(ld, lc);
	assert_memory_equal(fd_buf, fc_buf, ld);
	assert_int_equal(uc.direct_bytes, 0);
	if (dio_expected()) {
		/* Until the drain at packet 500: every aligned piece went direct. */
		assert_true(ud.direct_bytes > ld / 2);
		assert_int_equal(ud.direct_bytes % PDIO_ALIGN, 0);
	}
	assert_true(ud.direct_bytes <= ld);
	assert_int_equal(ud.packets, 0);
	assert_false(ud.torn);

	/* And it reads back whole. */
	assert_int_equal(read_back(pd, pkt_len), NPKT);
	free(fd_buf);
	free(fc_buf);
}

/*
 * A full disk (RLIMIT_FSIZE) under O_DIRECT: the error comes from the
 * writing thread whenever it does, the file ends with its last whole
 * block, and the packets missing are exactly those counted.
 */
static void check_full(rlim_t limit)
{
	const char *path = tmp_path("full.pcapng");
	struct pcapng_writer *w = NULL;
	struct pcapng_unwritten u;
	struct sigaction sa = { .sa_handler = SIG_IGN }, old_sa;
	struct rlimit saved, rl;
	uint64_t lost_bytes = 0;
	int calls, ret = 0, ret_drain, ret_close, m, i;
	struct stat st;
	uint32_t id;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGXFSZ, &sa, &old_sa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	rl = saved;
	rl.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	assert_int_equal(pcapng_open(&w, path, "t"), 0);
	pcapng_write_behind(w);
	assert_int_equal(pcapng_add_interface(w, 147, 0, NULL, NULL, &id), 0);
	for (calls = 0; calls < NPKT; calls++) {
		ret = put_packet(w, id, calls, pkt_len(calls), NULL);
		if (ret)
			break;
		if (calls % 37 == 0)
			pcapng_flush(w);
	}
	/* A packet refused for the error is counted as not written too. */
	if (ret)
		calls++;
	/* Everything through the thread, the tail included: the counts are final. */
	ret_drain = pcapng_drain(w);
	pcapng_unwritten(w, &u);
	ret_close = pcapng_close(w);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	sigaction(SIGXFSZ, &old_sa, NULL);

	assert_true(ret == 0 || ret == -EFBIG);
	assert_int_equal(ret_drain, -EFBIG);
	assert_int_equal(ret_close, -EFBIG);
	m = read_back(path, pkt_len);
	assert_int_equal(stat(path, &st), 0);
	assert_true((uint64_t)st.st_size <= limit);
	assert_true(m > 0 && m < calls);
	assert_int_equal((uint64_t)st.st_size, u.file_bytes);
	assert_false(u.torn);
	assert_int_equal(m + (int)u.packets, calls);
	for (i = m; i < calls; i++)
		lost_bytes += pkt_len(i);
	/* Not asserted: whether the write that met the limit was direct (or
	 * refused, EINVAL, and redone through the page cache) depends on how
	 * many buffers the thread had gathered by then. Both end the same. */
	assert_int_equal(u.bytes, lost_bytes);
}

static void test_pcapng_direct_io_full_disk_keeps_whole_blocks(void **state)
{
	(void)state;
	check_full(1000003);	/* unaligned: the last direct write is refused, the rest cut */
	check_full(1048576);	/* aligned */
}



/*
 * A capture that goes quiet with less than 4 KiB carried: a reader of the
 * growing file still gets every block (after the writer's quiet second),
 * and the file ends as the page cache path would have written it.
 */
static void test_pcapng_direct_io_quiet_tail_reaches_the_file(void **state)
{
	const char *path = tmp_path("quiet.pcapng");
	struct pcapng_writer *w = NULL;
	struct pcapng_unwritten u;
	struct stat st;
	uint64_t want;
	uint32_t id;
	int i, waited;

	(void)state;
	unsetenv("TLSTAP_NO_DIRECT_IO");
	assert_int_equal(pcapng_open(&w, path, "quiet"), 0);
	pcapng_write_behind(w);
	assert_int_equal(pcapng_add_interface(w, 147, 0, NULL, NULL, &id), 0);
	/* About 10 KiB: two aligned pieces go direct, the rest is carried. */
	for (i = 0; i < 4; i++)
		assert_int_equal(put_packet(w, id, i, len_3000(i), NULL), 0);
	assert_int_equal(pcapng_flush(w), 0);
	want = pcapng_bytes_written(w);
	assert_true(want % PDIO_ALIGN != 0);
	/* Polled, not timed: the writer shows the tail after a quiet second. */
	for (waited = 0; waited < 300; waited++) {
		assert_int_equal(stat(path, &st), 0);
		if ((uint64_t)st.st_size == want)
			break;
		usleep(50 * 1000);
	}
	assert_int_equal((uint64_t)st.st_size, want);
	assert_int_equal(read_back(path, len_3000), 4);

	/* More after the quiet spell: the tail is written again, direct, with them. */
	for (i = 4; i < 40; i++)
		assert_int_equal(put_packet(w, id, i, len_3000(i), NULL), 0);
	assert_int_equal(pcapng_drain(w), 0);
	pcapng_unwritten(w, &u);
	want = pcapng_bytes_written(w);
	assert_int_equal(pcapng_close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, want);
	assert_int_equal(u.file_bytes, want);
	if (dio_expected())
		assert_true(u.direct_bytes >= 2 * PDIO_ALIGN);
	assert_int_equal(read_back(path, len_3000), 40);
}

/*
 * A steady trickle of small packets, never a quiet second and never 4 KiB:
 * each still reaches the file within about a second of its first bytes
 * (the wait is not restarted by what comes after them).
 */
static void test_pcapng_direct_io_trickle_reaches_the_file(void **state)
{
	const char *path = tmp_path("trickle.pcapng");
	struct pcapng_writer *w = NULL;
	uint64_t first_end = 0;
	struct stat st;
	uint32_t id;
	int i, seen_at = -1;

	(void)state;
	unsetenv("TLSTAP_NO_DIRECT_IO");
	assert_int_equal(pcapng_open(&w, path, "trickle"), 0);
	pcapng_write_behind(w);
	assert_int_equal(pcapng_add_interface(w, 147, 0, NULL, NULL, &id), 0);
	/* 40 packets of 132-byte blocks, one every 0.2 s: 5.3 KiB in 8 s. */
	for (i = 0; i < 40 && seen_at < 0; i++) {
		assert_int_equal(put_packet(w, id, i, 100, NULL), 0);
		assert_int_equal(pcapng_flush(w), 0);
		if (i == 0)
			first_end = pcapng_bytes_written(w);
		usleep(200 * 1000);
		assert_int_equal(stat(path, &st), 0);
		if ((uint64_t)st.st_size >= first_end)
			seen_at = i;
	}
	assert_int_equal(pcapng_close(w), 0);
	/* Shown a second after it came, so by about the fifth packet: 25 leaves
	 * room for a slow machine; a wait restarted by each packet would
	 * show nothing before 4 KiB, some 30 packets. */
	assert_true(seen_at >= 0 && seen_at < 25);
}

static uint32_t len_1000(int i)
{
	(void)i;
	return 1000;
}

/*
 * The collector offers its buffer after every read of the rings, however
 * little it holds. Offered after every packet, as fast as they come: while
 * the thread has buffers waiting (it lets them gather), the one being filled
 * fills on, so 10 MB never need more buffers than the 128 (32 MiB) that may
 * wait, whenever the thread runs. Nothing is left out, every packet is in
 * the file. (Handing over each 1 KB packet in a buffer of its own used up
 * the 128 before the thread took any.)
 */
static void test_pcapng_offered_after_every_packet_leaves_none_out(void **state)
{
	const char *path = tmp_path("offer.pcapng");
	struct pcapng_writer *w = NULL;
	struct pcapng_unwritten u;
	uint32_t id;
	int i;

	(void)state;
	unsetenv("TLSTAP_NO_DIRECT_IO");
	assert_int_equal(pcapng_open(&w, path, "offer"), 0);
	pcapng_write_behind(w);
	assert_int_equal(pcapng_add_interface(w, 147, 0, NULL, NULL, &id), 0);
	for (i = 0; i < 10000; i++) {
		assert_int_equal(put_packet(w, id, i, len_1000(i), NULL), 0);
		assert_int_equal(pcapng_offer(w), 0);
	}
	assert_int_equal(pcapng_drain(w), 0);
	pcapng_unwritten(w, &u);
	assert_int_equal(u.packets, 0);
	assert_int_equal(u.slow_packets, 0);
	assert_int_equal(pcapng_close(w), 0);
	assert_int_equal(read_back(path, len_1000), 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcapng_direct_io_writes_the_same_file),
		cmocka_unit_test(test_pcapng_direct_io_full_disk_keeps_whole_blocks),
		cmocka_unit_test(test_pcapng_direct_io_quiet_tail_reaches_the_file),
		cmocka_unit_test(test_pcapng_direct_io_trickle_reaches_the_file),
		cmocka_unit_test(test_pcapng_offered_after_every_packet_leaves_none_out),
	};

	return cmocka_run_group_tests(tests, setup_dir, test_tmpdir_remove);
}
