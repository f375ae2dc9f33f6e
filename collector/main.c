/* tlstap: finds TLS libraries, attaches the probes, prints plaintext flows until stopped. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tlstap.skel.h"
#include "tlstap_empty.skel.h"
#include "attach.h"
#include "find_targets.h"
#include "flows.h"
#include "log.h"
#include "mem_budget.h"
#include "opts.h"
#include "output.h"
#include "outstream.h"
#include "pcap_out.h"
#include "pcapng.h"
#include "percpu.h"
#include "pipeline.h"
#include "probe_table.h"
#include "replay.h"
#include "summary.h"
#include "system.h"
#include "rings.h"
#include "targets.h"

#define EXIT_USAGE	2
/* Live output lags by at most this much: records below the wakeup
 * threshold (ring size / 16) wait for the timer. */
#define POLL_MS		50

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: the poll must return so the rings are drained at once. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (ulimit -f) is a write error like a full disk, not a crash. */
	signal(SIGXFSZ, SIG_IGN);
	return 0;
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* Waits for a signal or -d; the benchmark floor has nothing to consume. */
static void wait_until_stopped(const struct tlstap_opts *o)
{
	__u64 deadline = o->duration_ms ? now_ms() + o->duration_ms : 0;

	while (!exiting && (!deadline || now_ms() < deadline))
		usleep(50000);
}

static int run_empty(const struct tlstap_opts *o, const struct target_list *tl)
{
	struct tlstap_empty_bpf *skel;
	struct link_list links = {};
	int n, err;

	skel = tlstap_empty_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		pr_warn("cannot load the empty probes: %s\n", strerror(-err));
		return err;
	}
	n = attach_targets(&links, skel->progs.empty_entry, skel->progs.empty_return, tl,
			   o->pids, o->npids);
	if (n < 0) {
		err = n;
		goto cleanup;
	}
	print_tracing(o, n, tl->n);
	wait_until_stopped(o);
	err = 0;
cleanup:
	links_destroy(&links);
	tlstap_empty_bpf__destroy(skel);
	return err;
}

/* What the ring callback needs: the flow table and the pids that exited. */
struct consumer {
	struct flow_table *ft;
	struct tlstap_bpf *skel;
	struct rings *rings;
	const struct mem_budget *mb;
	__u32 exited[256];
	int nexited;
};

static bool pid_in(const struct consumer *c, __u32 pid)
{
	int i;

	for (i = 0; i < c->nexited; i++)
		if (c->exited[i] == pid)
			return true;
	return false;
}

/*
 * Tells the flow table where the BPF side says this connection (a key of the
 * conns map, whose fd is conns_fd) got to, so bytes that never reached a
 * ring are a gap when its flow ends.
 */
static void note_conn_end(struct consumer *c, int conns_fd, const struct tlstap_session_key *key)
{
	struct tlstap_conn_state cs;
	struct tlstap_data_event meta;

	if (bpf_map_lookup_elem(conns_fd, key, &cs))
		return;
	memset(&meta, 0, sizeof(meta));
	meta.type = TLSTAP_EV_DATA;
	meta.pid = key->pid;
	meta.tid = key->pid;
	meta.fd = cs.fd;
	meta.conn_id = cs.conn_id;
	meta.addr = cs.addr;
	meta.comm[0] = '?';
	meta.func_id = PROBE_FUNC_NONE;	/* no call seen: no function, no library */
	flows_note_end(c->ft, &meta, cs.pos);
}

/*
 * A process that exits without closing its sockets leaves entries keyed by
 * its pid (its fds close in the kernel, not through close()). Delete them so
 * the tables hold live processes only. Keys start with the pid.
 */
static void forget_exited(struct consumer *c, struct bpf_map *map)
{
	size_t key_size = bpf_map__key_size(map), n = 0, i;
	__u8 key[64], next[64], *doomed = NULL, *grown;
	int fd = bpf_map__fd(map), seen = 0;
	__u32 pid;

	if (key_size > sizeof(key) || key_size < sizeof(pid))
		return;
	/* Collect first: deleting while walking restarts the walk. */
	while (seen++ < 1 << 20 && !bpf_map_get_next_key(fd, seen > 1 ? key : NULL, next)) {
		memcpy(key, next, key_size);
		memcpy(&pid, next, sizeof(pid));
		if (!pid_in(c, pid))
			continue;
		grown = realloc(doomed, (n + 1) * key_size);
		if (!grown)
			break;
		doomed = grown;
		memcpy(doomed + n++ * key_size, next, key_size);
	}
	for (i = 0; i < n; i++) {
		/* A connection's end positions are read before it is forgotten. */
		if (map == c->skel->maps.conns)
			note_conn_end(c, fd, (const struct tlstap_session_key *)(doomed + i * key_size));
		bpf_map_delete_elem(fd, doomed + i * key_size);
	}
	free(doomed);
}

/* At the stop: where every connection still in the BPF table got to. */
static void note_all_conn_ends(struct consumer *c)
{
	int fd = bpf_map__fd(c->skel->maps.conns), seen = 0;
	struct tlstap_session_key key, next;

	while (seen++ < 1 << 20 && !bpf_map_get_next_key(fd, seen > 1 ? &key : NULL, &next)) {
		key = next;
		note_conn_end(c, fd, &key);
	}
}

static void sweep_exited(struct consumer *c)
{
	if (!c->nexited)
		return;
	forget_exited(c, c->skel->maps.conns);
	forget_exited(c, c->skel->maps.fd_sessions);
	c->nexited = 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct consumer *c = ctx;
	struct tlstap_ctrl_event ev;

	flows_record(c->ft, data, size);
	if (size >= sizeof(ev)) {
		memcpy(&ev, data, sizeof(ev));
		if (ev.type == TLSTAP_EV_EXIT) {
			if (c->nexited == (int)(sizeof(c->exited) / sizeof(c->exited[0])))
				sweep_exited(c);
			c->exited[c->nexited++] = ev.pid;
		}
	}
	/*
	 * A round reads a bounded share of each ring, and none once the memory
	 * budget is passed (one record, so the rounds go on): what is not read
	 * waits in the ring, the buffer built for it, instead of in our heap.
	 */
	if (c->rings->byte_budget)
		c->rings->bytes_left = size < c->rings->bytes_left ? c->rings->bytes_left - size : 0;
	if (--c->rings->budget_left <= 0 || (c->rings->byte_budget && !c->rings->bytes_left) ||
	    (c->mb && mem_budget_over(c->mb)))
		return RINGS_BUDGET_SPENT;
	return 0;
}

/* Programs that may write to a ring right now, summed over CPUs. */
static __u64 busy_programs(struct tlstap_bpf *skel)
{
	__u64 busy;

	percpu_sum_u64(skel->maps.busy, &busy, 1);
	return busy;
}

/*
 * Makes the BPF side stop writing to the rings, and waits until no program
 * is still writing (see the busy map), so one last drain sees everything.
 * Calls that begin from now on are neither traced nor counted. Should a
 * program still run after 5 s (a 2 GiB copy), detaching is the barrier.
 */
static void stop_emitters(struct tlstap_bpf *skel, struct link_list *links)
{
	int i;

	__atomic_store_n(&skel->bss->stopping, true, __ATOMIC_SEQ_CST);
	for (i = 0; i < 5000; i++) {
		if (!busy_programs(skel))
			return;
		usleep(1000);
	}
	links_destroy(links);
}

/*
 * One round: every ring read once (fairly), then whatever that settles,
 * on the clock -r drives too: one stamp per round, resolved up to the
 * latest round every ring has been read past.
 */
static int read_round(struct rings *rings, struct flow_table *ft, __u64 round)
{
	int all;

	flows_set_stamp(ft, round);
	all = rings_read_round(rings, round);
	if (all < 0)
		return all;
	flows_resolve(ft, rings_safe_round(rings));
	return all;	/* 1: every ring read to its end */
}

/* Flushes f; returns 1 when the reader went away, -errno on a write error. */
static int flush_output(FILE *f)
{
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	if (errno == EPIPE)
		return 1;
	return errno ? -errno : -EIO;
}

/*
 * A -w file that could not be written whole: say what is missing. One rule
 * for every output, as for | head: a reader that went away (EPIPE on -w -)
 * is a normal end, not a failure.
 */
static int report_pcap(const struct pcap_out *pcap)
{
	struct pcap_out_status st;
	char stalled[80];

	if (!pcap)
		return 0;
	pcap_out_status(pcap, &st);
	if (!st.err || st.err == -EPIPE)
		return 0;
	snprintf(stalled, sizeof(stalled), "its reader took nothing for %d ms after the stop request",
		 NBFD_STOP_GRACE_MS);
	pr_warn("cannot write %s: %s; stopped: %llu packets (%llu bytes) not written%s\n", st.file,
		st.at_open ? pcapng_open_strerror(st.err) :
		st.err == -ETIMEDOUT ? stalled : strerror(-st.err),
		(unsigned long long)st.unwritten_packets, (unsigned long long)st.unwritten_bytes,
		st.at_open ? "" : st.torn ? "; its last block is incomplete" :
		"; the file ends with its last complete block");
	return st.err;
}

static int run_trace(const struct tlstap_opts *o, const struct target_list *tl)
{
	size_t ring_bytes = opts_ring_bytes(o);
	struct link_list links = {};
	struct rings rings = {};
	struct tlstap_bpf *skel;
	struct consumer consumer = {};
	struct pcap_out *pcap = NULL;
	struct pipeline pipe = {};
	struct tlstap_stats bs;
	struct summary sum;
	struct bpf_link *link;
	struct outstream *ostream = NULL;
	FILE *outf = stdout;
	__u64 deadline = 0, round = 1;
	__u8 one = 1;
	int i, n, err, drained;

	rings.template_fd = -1;
	rings.epfd = -1;
	skel = tlstap_bpf__open();
	if (!skel) {
		err = -errno;
		pr_warn("cannot open the BPF programs: %s\n", strerror(-err));
		return err;
	}
	skel->rodata->filter_pid = o->npids > 0;
	skel->rodata->filter_uid = o->has_uid;
	skel->rodata->targ_uid = o->uid;
	skel->rodata->filter_comm = o->has_comm;
	memcpy((char *)skel->rodata->targ_comm, o->comm, sizeof(o->comm));
	skel->rodata->snaplen = o->snaplen;
	skel->rodata->wakeup_bytes = ring_bytes / 16;
	err = bpf_map__set_max_entries(skel->maps.pid_filter, TLSTAP_MAX_PID_FILTER);
	if (!err)
		err = rings_prepare(&rings, skel->maps.rings, ring_bytes);
	if (err) {
		pr_warn("cannot create ring buffers of %zu bytes: %s\n", ring_bytes, strerror(-err));
		goto cleanup;
	}
	err = tlstap_bpf__load(skel);
	if (err) {
		pr_warn("cannot load the BPF programs: %s (run with -vv for the verifier's log)\n",
			strerror(-err));
		goto cleanup;
	}
	for (i = 0; i < o->npids; i++)
		bpf_map_update_elem(bpf_map__fd(skel->maps.pid_filter), &o->pids[i], &one, BPF_ANY);

	/* Text, JSON and hex go through a stream a stop request gets past. */
	if (o->out != OUT_NONE) {
		err = outstream_open(&ostream, &outf, STDOUT_FILENO, 1 << 20, &exiting);
		if (err) {
			pr_warn("cannot set up the output: %s\n", strerror(-err));
			goto cleanup;
		}
	}
	err = pipeline_init(&pipe, o, outf);
	if (err)
		goto cleanup;
	if (o->write_path) {
		struct pcap_out_opts po = {
			.path = o->write_path, .rotate_bytes = o->rotate_bytes,
			.rotate_secs = o->rotate_secs, .max_files = o->max_files,
			.mono_to_real_ns = pipe.out.mono_to_real_ns,
			.stop = &exiting,
		};

		err = pcap_out_open(&pcap, &po);
		if (err) {
			pr_warn("cannot write %s: %s\n", o->write_path, pcapng_open_strerror(err));
			goto cleanup;
		}
		pcap_out_attach(pcap, &pipe.sinks);
	}
	err = pipeline_start(&pipe, TLSTAP_MAX_CONNS);
	if (err)
		goto cleanup;
	consumer.ft = pipe.ft;
	consumer.skel = skel;
	consumer.rings = &rings;
	consumer.mb = &pipe.mb;
	/* What one round may bring in: an eighth of the budget over all rings,
	 * so that records waiting to be ordered stay well within it. */
	if (pipe.mb.limit && rings.ncpus > 0) {
		rings.byte_budget = pipe.mb.limit / 8 / (size_t)rings.ncpus;
		if (rings.byte_budget < 64 * 1024)
			rings.byte_budget = 64 * 1024;
	}
	err = rings_create(&rings, skel->maps.rings, ring_bytes, on_record, &consumer);
	if (err) {
		pr_warn("cannot create ring buffers of %zu bytes: %s\n", ring_bytes, strerror(-err));
		goto cleanup;
	}

	/* Syscall and exit hooks first, so no TLS call is seen without them. */
	link = bpf_program__attach(skel->progs.sys_enter);
	if (!link || links_push(&links, link)) {
		err = -errno;
		pr_warn("cannot attach to the sys_enter tracepoint: %s\n", strerror(-err));
		goto cleanup;
	}
	link = bpf_program__attach(skel->progs.sched_process_exit);
	if (!link || links_push(&links, link)) {
		err = -errno;
		pr_warn("cannot attach to the sched_process_exit tracepoint: %s\n", strerror(-err));
		goto cleanup;
	}
	n = attach_targets(&links, skel->progs.tls_entry, skel->progs.tls_return, tl, o->pids,
			   o->npids);
	if (n < 0) {
		err = n;
		pr_warn("no TLS function could be probed: %s\n", strerror(-err));
		goto cleanup;
	}
	/* Ahead of the traced programs, so the rings are read as fast as filled. */
	if (o->nice && setpriority(PRIO_PROCESS, 0, o->nice))
		pr_info("cannot set niceness %d: %s\n", o->nice, strerror(errno));
	print_tracing(o, n, tl->n);

	if (o->duration_ms)
		deadline = now_ms() + o->duration_ms;
	while (!exiting && !output_done(&pipe.out)) {
		err = rings_wait(&rings, POLL_MS);
		if (!err)
			err = read_round(&rings, pipe.ft, round++);
		if (err < 0 && err != -EINTR) {
			pr_warn("reading the ring buffers failed: %s\n", strerror(-err));
			goto cleanup;
		}
		sweep_exited(&consumer);
		err = flush_output(outf);
		if (err)
			break;
		if (pcap && pcap_out_tick(pcap))
			break;	/* a write error, or -G -W has written its files: stop cleanly */
		if (deadline && now_ms() >= deadline)
			break;
	}
	if (err < 0) {
		pr_warn("cannot write the output: %s\n", strerror(-err));
		goto cleanup;
	}
	/* Stop producers, then drain what they left, to the end of every ring.
	 * The probes are detached after the summary: that takes ~0.05 s each. */
	stop_emitters(skel, &links);
	for (i = 0, drained = 0; i < 100000 && drained != 1; i++) {
		drained = read_round(&rings, pipe.ft, round++);
		if (drained < 0)
			break;
		sweep_exited(&consumer);
	}
	/* Bytes of open connections that never reached a ring are gaps too. */
	note_all_conn_ends(&consumer);
	pipeline_finish(&pipe);
	/* Even after a write error: the summary, then what the file lacks. */
	pcap_out_finish(pcap);
	percpu_read_stats(skel->maps.stats, &bs);
	summary_collect(&sum, &pipe.out, flows_stats(pipe.ft), &bs, &pipe.mb, pipe.hv);
	summary_print_text(&sum, stderr);
	if (o->out == OUT_JSON && err == 0)
		summary_print_json(&sum, outf);
	err = flush_output(outf);
	if (err < 0) {
		pr_warn("cannot write the output: %s\n", strerror(-err));
		goto cleanup;
	}
	err = report_pcap(pcap);
	if (outstream_dropped(ostream)) {
		pr_warn("%llu bytes of output were dropped: stdout was not read within %d ms of "
			"the stop request\n", (unsigned long long)outstream_dropped(ostream),
			NBFD_STOP_GRACE_MS);
		err = err ? err : -EIO;
	}
cleanup:
	/* Output first: a reader sees its end before the slow detaching. */
	outstream_close(ostream, outf == stdout ? NULL : outf);
	links_destroy(&links);
	rings_free(&rings);
	pipeline_free(&pipe);
	pcap_out_close(pcap);
	tlstap_bpf__destroy(skel);
	return err;
}

/* -r: the same flows and printers, fed from a file. */
static int run_replay(const struct tlstap_opts *o)
{
	struct pipeline pipe;
	char why[256] = "";
	long n;
	int err;

	err = pipeline_init(&pipe, o, stdout);
	pipe.out.mono_to_real_ns = 0;	/* file times are wall-clock already */
	if (!err)
		err = pipeline_start(&pipe, TLSTAP_MAX_CONNS);
	if (err) {
		pipeline_free(&pipe);
		return err;
	}
	n = replay_file(o->read_path, pipe.ft, why, sizeof(why));
	if (n < 0) {
		pr_warn("cannot read %s: %s\n", o->read_path, why[0] ? why : strerror((int)-n));
		err = (int)n;
	} else if (n == 0) {
		pr_warn("%s holds no tlstap data packets\n", o->read_path);
	}
	pipeline_finish(&pipe);
	if (!err && flush_output(stdout) < 0) {
		pr_warn("cannot write the output: %s\n", strerror(errno));
		err = -EIO;
	}
	pipeline_free(&pipe);
	return err;
}

int main(int argc, char **argv)
{
	struct target_list tl = {};
	struct tlstap_opts o;
	char err_msg[256];
	int err;

	err = opts_parse(argc, argv, &o, err_msg, sizeof(err_msg));
	if (err == OPTS_EXIT_OK)
		return 0;
	if (err) {
		fprintf(stderr, "tlstap: %s\nTry 'tlstap --help' for more information.\n", err_msg);
		return EXIT_USAGE;
	}
	log_set_verbosity(o.verbose);
	libbpf_set_print(log_libbpf);
	if ((o.redact || o.nredact) && (o.raw || o.out == OUT_HEX || (o.out == OUT_JSON && !o.no_data) ||
					o.write_path))
		pr_warn("--redact masks decoded HTTP only: raw bytes (--raw, -o hex, JSON data events, -w files) "
			"still hold them\n");
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);

	if (o.read_path) {
		signal(SIGPIPE, SIG_IGN);
		return run_replay(&o) ? 1 : 0;
	}
	if (!o.list_targets && system_check())
		return 1;
	err = find_targets(&o, &tl);
	if (err) {
		targets_free(&tl);
		return err == -EINVAL ? EXIT_USAGE : 1;
	}
	if (o.list_targets) {
		list_targets(&tl);
		targets_free(&tl);
		return flush_output(stdout) < 0 ? 1 : 0;
	}
	err = install_signals();
	if (!err)
		err = o.empty_probes ? run_empty(&o, &tl) : run_trace(&o, &tl);
	targets_free(&tl);
	return err ? 1 : 0;
}
