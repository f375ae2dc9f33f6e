/* Unit tests of the -w output: what a write error leaves in the file and what it counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"
#include "flows.h"
#include "pcap_out.h"
#include "pcapng.h"
#include "pcapng_read.h"

#define NEVENTS		100
#define EVENT_LEN	4000

static int setup_dir(void **state)
{
	return test_tmpdir_create("pcap-out");
}

static void feed_at(struct flow_table *ft, int dir, __u64 pos, __u64 ts)
{
	size_t size = sizeof(struct tlstap_data_event) + EVENT_LEN;
	struct tlstap_data_event *ev = calloc(1, size);

	assert_non_null(ev);
	ev->type = TLSTAP_EV_DATA;
	ev->dir = (__u8)dir;
	ev->pid = 100;
	ev->tid = 100;
	ev->fd = 3;
	ev->conn_id = 1;
	ev->pos = pos;
	ev->len = EVENT_LEN;
	ev->ts_ns = ts;
	snprintf(ev->comm, sizeof(ev->comm), "test");
	memset(ev->data, 'a' + (int)(pos / EVENT_LEN % 26), EVENT_LEN);
	assert_int_equal(flows_record(ft, ev, size), 0);
	free(ev);
}

static void feed_data(struct flow_table *ft, int dir, __u64 pos)
{
	feed_at(ft, dir, pos, 1000 + pos);
}

/*
 * One connection: NEVENTS chunks alternating directions, then its close,
 * into path; with the main loop's ticks (flushes) every 10 chunks. Returns
 * the status after the file is finished.
 */
static void capture(const char *path, struct pcap_out_status *st, int *finish_err)
{
	struct pcap_out_opts o = { .path = path };
	struct tlstap_ctrl_event close_ev = { .type = TLSTAP_EV_CLOSE, .pid = 100, .conn_id = 1 };
	struct pcap_out *po = NULL;
	struct flow_table *ft;
	__u64 pos[2] = { 0, 0 };
	int i;

	assert_int_equal(pcap_out_open(&po, &o), 0);
	ft = flows_new(&pcap_out_callbacks, po, 16);
	assert_non_null(ft);
	for (i = 0; i < NEVENTS; i++) {
		feed_data(ft, i & 1, pos[i & 1]);
		pos[i & 1] += EVENT_LEN;
		if (i % 10 == 9) {
			flows_sweep(ft);
			pcap_out_tick(po);
		}
	}
	close_ev.end_pos[0] = pos[0];
	close_ev.end_pos[1] = pos[1];
	assert_int_equal(flows_record(ft, &close_ev, sizeof(close_ev)), 0);
	flows_sweep(ft);
	flows_finish(ft);
	*finish_err = pcap_out_finish(po);
	pcap_out_status(po, st);
	st->file = NULL;	/* freed with po */
	flows_free(ft);
	pcap_out_close(po);
}

/* The packets of a file, to its end; the file must be whole. */
static int read_packets(const char *path, uint32_t *caplens, int max)
{
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	int n = 0, ret;

	assert_int_equal(pcapng_reader_open(&r, path), 0);
	while ((ret = pcapng_reader_next(r, &b)) == 1) {
		if (b.kind != PCAPNG_EPB)
			continue;
		assert_true(n < max);
		caplens[n++] = b.caplen;
	}
	if (ret)
		fail_msg("%s: %s", path, pcapng_reader_error(r));
	pcapng_reader_close(r);
	return n;
}

/*
 * A file size limit (as a full disk) hit in the middle of a capture: the
 * file is whole up to where it stops, and the packets it lacks, compared
 * with the same capture written without a limit, are exactly those counted:
 * the ones lost from the writer's buffer and the ones that came after.
 */
static void test_pcap_out_full_disk_counts_every_missing_packet(void **state)
{
	static uint32_t ref[NEVENTS + 16], got[NEVENTS + 16];
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_sa;
	struct pcap_out_status st;
	struct rlimit saved, rl;
	uint64_t lost_bytes = 0;
	int nref, ngot, err, i;

	capture(tmp_path("whole.pcapng"), &st, &err);
	assert_int_equal(err, 0);
	assert_int_equal(st.err, 0);
	assert_int_equal(st.unwritten_packets, 0);
	nref = read_packets(tmp_path("whole.pcapng"), ref, NEVENTS + 16);
	assert_int_equal(nref, 3 + NEVENTS + 3);	/* handshake, one segment per chunk, FIN */

	sigemptyset(&ign.sa_mask);
	sigaction(SIGXFSZ, &ign, &old_sa);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	rl = saved;
	rl.rlim_cur = 100001;	/* the second tick's flush goes past it */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	capture(tmp_path("cut.pcapng"), &st, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	sigaction(SIGXFSZ, &old_sa, NULL);

	assert_int_equal(err, -EFBIG);
	assert_int_equal(st.err, -EFBIG);
	assert_false(st.at_open);
	assert_false(st.torn);
	ngot = read_packets(tmp_path("cut.pcapng"), got, NEVENTS + 16);
	assert_true(ngot > 3 && ngot < nref);
	for (i = 0; i < ngot; i++)
		assert_int_equal(got[i], ref[i]);
	assert_int_equal(st.unwritten_packets, nref - ngot);
	for (i = ngot; i < nref; i++)
		lost_bytes += ref[i];
	assert_int_equal(st.unwritten_bytes, lost_bytes);
}

/* A capture into o->path, its flow table at round 1. */
static struct flow_table *start_capture(const struct pcap_out_opts *o, struct pcap_out **po)
{
	struct flow_table *ft;

	assert_int_equal(pcap_out_open(po, o), 0);
	ft = flows_new(&pcap_out_callbacks, *po, 16);
	assert_non_null(ft);
	flows_set_stamp(ft, 1);
	return ft;
}

/* Ends it (the round resolved, every flow ended, the file finished) and opens the file to read. */
static struct pcapng_reader *end_capture(struct flow_table *ft, struct pcap_out *po, const char *path)
{
	struct pcapng_reader *r = NULL;

	flows_sweep(ft);
	flows_finish(ft);
	assert_int_equal(pcap_out_finish(po), 0);
	flows_free(ft);
	pcap_out_close(po);
	assert_int_equal(pcapng_reader_open(&r, path), 0);
	return r;
}

/*
 * A response read on one CPU can reach tlstap before the request written on
 * another: the file has them in time order (Wireshark and -r pair a request
 * with the response after it), the SYN from the side that sent first, and
 * the response acknowledges the request.
 */
static void test_pcap_out_writes_in_time_order(void **state)
{
	struct pcap_out_opts o = { .path = tmp_path("order.pcapng") };
	struct pcap_out *po = NULL;
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	struct flow_table *ft;
	int dirs[8], n = 0;
	uint64_t ts[8];

	ft = start_capture(&o, &po);
	feed_at(ft, TLSTAP_DIR_IN, 0, 2000);	/* the response, first to arrive */
	feed_at(ft, TLSTAP_DIR_OUT, 0, 1000);	/* the request */
	r = end_capture(ft, po, o.path);
	while (pcapng_reader_next(r, &b) == 1) {
		if (b.kind != PCAPNG_EPB)
			continue;
		assert_true(n < 8);
		dirs[n] = b.direction;
		ts[n++] = b.ts_ns;
	}
	pcapng_reader_close(r);
	assert_int_equal(n, 3 + 2);	/* handshake, request, response (no close) */
	assert_int_equal(dirs[0], PCAPNG_DIR_OUTBOUND);	/* SYN from the traced client */
	assert_int_equal(dirs[3], PCAPNG_DIR_OUTBOUND);
	assert_int_equal(dirs[4], PCAPNG_DIR_INBOUND);
	assert_true(ts[3] < ts[4]);
}

/* One chunk of connection conn (in netns, traced in process pid) between two loopback ports. */
static void feed_conn_at(struct flow_table *ft, __u64 conn, __u32 pid, __u32 netns, int dir,
			 const char *laddr, const char *raddr, __u16 lport, __u16 rport, __u64 ts)
{
	size_t size = sizeof(struct tlstap_data_event) + 10;
	struct tlstap_data_event *ev = calloc(1, size);

	assert_non_null(ev);
	ev->type = TLSTAP_EV_DATA;
	ev->dir = (__u8)dir;
	ev->pid = ev->tid = pid;
	ev->fd = 3;
	ev->conn_id = conn;
	ev->netns = netns;
	ev->len = 10;
	ev->ts_ns = ts;
	ev->addr.family = AF_INET;
	ev->addr.lport = lport;
	ev->addr.rport = rport;
	memcpy(ev->addr.laddr, laddr, 4);
	memcpy(ev->addr.raddr, raddr, 4);
	snprintf(ev->comm, sizeof(ev->comm), "test");
	memcpy(ev->data, "netns", 5);
	ev->data[5] = (__u8)('0' + netns / 10000 % 10), ev->data[6] = (__u8)('0' + netns / 1000 % 10);
	ev->data[7] = (__u8)('0' + netns / 100 % 10), ev->data[8] = (__u8)('0' + netns / 10 % 10);
	ev->data[9] = (__u8)('0' + netns % 10);
	assert_int_equal(flows_record(ft, ev, size), 0);
	free(ev);
}

static void feed_conn(struct flow_table *ft, __u64 conn, __u32 pid, __u32 netns, int dir,
		      __u16 lport, __u16 rport, __u64 ts)
{
	feed_conn_at(ft, conn, pid, netns, dir, "\x7f\0\0\1", "\x7f\0\0\1", lport, rport, ts);
}

/*
 * Two network namespaces, each with a client and a server traced, on the
 * same addresses and ports, all four ends open at once: each namespace's
 * connection is written once (from one end), never paired with the other
 * namespace's ends; and a connection between two namespaces over other
 * addresses (containers on a bridge) is paired, written once.
 */
static void test_pcap_out_ends_pair_by_netns_on_loopback(void **state)
{
	struct pcap_out_opts o = { .path = tmp_path("netns.pcapng") };
	struct pcap_out *po = NULL;
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	struct flow_table *ft;
	int per_ns[3] = { 0, 0, 0 }, syns = 0;

	ft = start_capture(&o, &po);
	/* Requests: each client sends, each server reads it. */
	feed_conn(ft, 1, 10, 1001, TLSTAP_DIR_OUT, 40000, 4433, 100);
	feed_conn(ft, 2, 11, 1001, TLSTAP_DIR_IN, 4433, 40000, 110);
	feed_conn(ft, 3, 20, 2002, TLSTAP_DIR_OUT, 40000, 4433, 120);
	feed_conn(ft, 4, 21, 2002, TLSTAP_DIR_IN, 4433, 40000, 130);
	/* Two containers over a bridge, each end in its own namespace: one connection. */
	feed_conn_at(ft, 5, 30, 3003, TLSTAP_DIR_OUT, "\xac\x11\0\2", "\xac\x11\0\3", 50000, 443, 140);
	feed_conn_at(ft, 6, 31, 4004, TLSTAP_DIR_IN, "\xac\x11\0\3", "\xac\x11\0\2", 443, 50000, 150);
	r = end_capture(ft, po, o.path);
	while (pcapng_reader_next(r, &b) == 1) {
		if (b.kind != PCAPNG_EPB)
			continue;
		if (b.caplen > 10 && !memcmp(b.data + b.caplen - 10, "netns01001", 10))
			per_ns[0]++;
		else if (b.caplen > 10 && !memcmp(b.data + b.caplen - 10, "netns02002", 10))
			per_ns[1]++;
		else if (b.caplen > 10 && !memcmp(b.data + b.caplen - 10, "netns03003", 10))
			per_ns[2]++;
		else if (b.comment && strstr(b.comment, "synthetic handshake"))
			syns++;
	}
	pcapng_reader_close(r);
	assert_int_equal(per_ns[0], 1);
	assert_int_equal(per_ns[1], 1);
	assert_int_equal(per_ns[2], 1);
	assert_int_equal(syns, 3);
}

/* A refused name is reported as pcapng_open's refusal, with the name. */
static void test_pcap_out_refused_name_is_an_open_error(void **state)
{
	struct pcap_out_opts o = { .path = tmp_path("planted.pcapng") };
	struct pcap_out *po = (struct pcap_out *)1;

	assert_int_equal(symlink("/etc/passwd", o.path), 0);
	assert_int_equal(pcap_out_open(&po, &o), -ELOOP);
	assert_null(po);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_out_full_disk_counts_every_missing_packet),
		cmocka_unit_test(test_pcap_out_writes_in_time_order),
		cmocka_unit_test(test_pcap_out_ends_pair_by_netns_on_loopback),
		cmocka_unit_test(test_pcap_out_refused_name_is_an_open_error),
	};

	return cmocka_run_group_tests(tests, setup_dir, test_tmpdir_remove);
}
