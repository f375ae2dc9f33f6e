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
#include "http_view.h"
#include "log.h"
#include "mem_budget.h"
#include "opts.h"
#include "output.h"
#include "outstream.h"
#include "pcap_out.h"
#include "pcapng.h"
#include "probe_table.h"
#include "replay.h"
#include "sinks.h"
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

/* Whether the effective capability set has bit cap (from /proc/self/status). */
/* A number from a line of /proc/self/status, read with fmt ("VmHWM: %llu kB"). */
static bool self_status(const char *fmt, unsigned long long *v)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, fmt, v) == 1;
	fclose(f);
	return found;
}

/* Whether the effective capability set has bit cap. */
static bool has_cap(int cap)
{
	unsigned long long caps = 0;

	return self_status("CapEff: %llx", &caps) && (caps >> cap) & 1;
}

static int check_system(void)
{
	const int cap_sys_admin = 21, cap_perfmon = 38, cap_bpf = 39;

	if (!has_cap(cap_sys_admin) && !(has_cap(cap_bpf) && has_cap(cap_perfmon))) {
		pr_warn("needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN) to load BPF programs\n");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_warn("this kernel has no BTF (/sys/kernel/btf/vmlinux): it needs CONFIG_DEBUG_INFO_BTF=y\n");
		return -ENOTSUP;
	}
	return 0;
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

/*
 * Slot 0 of a per-CPU array whose value is n __u64 counters, each summed
 * over every CPU into sum[0..n-1] (zeros if it cannot be read).
 */
static void sum_percpu_u64(struct bpf_map *map, __u64 *sum, size_t n)
{
	int ncpus = libbpf_num_possible_cpus(), cpu;
	__u64 *per;
	__u32 zero = 0;
	size_t i;

	memset(sum, 0, n * sizeof(*sum));
	if (ncpus <= 0)
		return;
	per = calloc((size_t)ncpus * n, sizeof(*per));
	if (!per)
		return;
	if (!bpf_map_lookup_elem(bpf_map__fd(map), &zero, per))
		for (cpu = 0; cpu < ncpus; cpu++)
			for (i = 0; i < n; i++)
				sum[i] += per[(size_t)cpu * n + i];
	free(per);
}

/* Programs that may write to a ring right now, summed over CPUs. */
static __u64 busy_programs(struct tlstap_bpf *skel)
{
	__u64 busy;

	sum_percpu_u64(skel->maps.busy, &busy, 1);
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

/* One round: every ring read once (fairly), then whatever that settles. */
static int read_round(struct rings *rings, struct flow_table *ft, struct http_view *hv,
		      const struct mem_budget *mb, __u64 round)
{
	__u64 safe;
	int all;

	flows_set_stamp(ft, round);
	if (hv)
		http_view_set_stamp(hv, round);
	all = rings_read_round(rings, round);
	if (all < 0)
		return all;
	safe = rings_safe_round(rings);
	flows_resolve(ft, safe);
	/*
	 * With a backlog in the rings, the safe round lags until it is read
	 * through, and the view would hold all of it. Short of memory, it shows
	 * what it holds now: the two directions of a connection may then
	 * interleave a little out of time order (counted), never lose bytes.
	 */
	if (hv && mb && mem_budget_pressed(mb))
		http_view_settle_now(hv);
	else if (hv)
		http_view_settle(hv, safe);
	return all;	/* 1: every ring read to its end */
}

/* Every counter in struct tlstap_stats is a __u64: it is summed as an array. */
_Static_assert(sizeof(struct tlstap_stats) % sizeof(__u64) == 0, "tlstap_stats holds __u64 only");

static void read_bpf_stats(struct tlstap_bpf *skel, struct tlstap_stats *sum)
{
	sum_percpu_u64(skel->maps.stats, (__u64 *)sum, sizeof(*sum) / sizeof(__u64));
}

/* This process's resident high-water mark (VmHWM), in bytes; 0 if unknown. */
static __u64 rss_peak_bytes(void)
{
	unsigned long long kib = 0;

	return self_status("VmHWM: %llu kB", &kib) ? (__u64)kib * 1024 : 0;
}

static void print_summary(const struct output *out, const struct flow_stats *fs,
			  const struct tlstap_stats *bs, const struct mem_budget *mb,
			  const struct http_view *hv, FILE *json)
{
	unsigned long long untraced = bs->call_table_full + bs->bad_len + bs->conn_table_full +
				      bs->unmatched_returns + bs->unfinished_calls;
	struct http_view_stats hs = { 0 };
	__u64 rss_peak = rss_peak_bytes();

	fprintf(stderr,
		"tlstap: %llu events, %llu bytes captured in %llu connections; lost %llu bytes "
		"(ring full: %llu records, %llu bytes; unreadable: %llu; over 2 GiB: %llu); "
		"snaplen left out %llu bytes; untraced calls: %llu; lost connection ends: %llu\n",
		(unsigned long long)out->events, (unsigned long long)out->bytes,
		(unsigned long long)fs->flows, (unsigned long long)fs->lost_bytes,
		(unsigned long long)bs->ring_full_events, (unsigned long long)bs->ring_full_bytes,
		(unsigned long long)bs->unreadable_bytes, (unsigned long long)bs->oversize_bytes,
		(unsigned long long)fs->snap_bytes, untraced, (unsigned long long)bs->ctrl_lost);
	if (hv)
		http_view_stats(hv, &hs);
	/* What the memory budget cost: decoding first, raw data only past it. */
	fprintf(stderr,
		"tlstap: memory: peak %.1f of %.0f MiB; not decoded for lack of memory: %llu connections, "
		"%llu bytes (shown raw); holes given up to stay within it: %llu (%llu bytes); "
		"shown before the rings' backlog was read: %llu times; resident peak %.1f MiB "
		"(rings included)\n",
		(double)mb->peak / (1 << 20), (double)mb->limit / (1 << 20),
		(unsigned long long)hs.undecoded_conns, (unsigned long long)hs.undecoded_bytes,
		(unsigned long long)fs->mem_gaps, (unsigned long long)fs->mem_gap_bytes,
		(unsigned long long)hs.early_settles, (double)rss_peak / (1 << 20));
	if (json)
		fprintf(json, "{\"type\":\"stats\",\"events\":%llu,\"bytes\":%llu,\"connections\":%llu,"
			"\"lost_bytes\":%llu,\"snaplen_bytes\":%llu,\"ring_full_records\":%llu,"
			"\"ring_full_bytes\":%llu,\"unreadable_bytes\":%llu,\"oversize_bytes\":%llu,"
			"\"untraced_calls\":%llu,\"unmatched_returns\":%llu,\"unfinished_calls\":%llu,"
			"\"lost_ctrl_events\":%llu,\"bad_records\":%llu,"
			"\"mem_limit_bytes\":%llu,\"mem_peak_bytes\":%llu,\"undecoded_conns\":%llu,"
			"\"undecoded_bytes\":%llu,\"mem_gaps\":%llu,\"mem_gap_bytes\":%llu,"
			"\"mem_early_settles\":%llu,\"rss_peak_bytes\":%llu}\n",
			(unsigned long long)out->events, (unsigned long long)out->bytes,
			(unsigned long long)fs->flows, (unsigned long long)fs->lost_bytes,
			(unsigned long long)fs->snap_bytes, (unsigned long long)bs->ring_full_events,
			(unsigned long long)bs->ring_full_bytes, (unsigned long long)bs->unreadable_bytes,
			(unsigned long long)bs->oversize_bytes, untraced,
			(unsigned long long)bs->unmatched_returns, (unsigned long long)bs->unfinished_calls,
			(unsigned long long)bs->ctrl_lost, (unsigned long long)fs->bad_records,
			(unsigned long long)mb->limit, (unsigned long long)mb->peak,
			(unsigned long long)hs.undecoded_conns, (unsigned long long)hs.undecoded_bytes,
			(unsigned long long)fs->mem_gaps, (unsigned long long)fs->mem_gap_bytes,
			(unsigned long long)hs.early_settles, (unsigned long long)rss_peak);
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

/* The decoded HTTP view for the printer, when it has one (text, json; not --raw). */
static int setup_http(const struct tlstap_opts *o, struct output *out, struct sinks *sinks,
		      struct mem_budget *mb, struct http_view **hv)
{
	static const char *const defaults[] = { "Authorization", "Proxy-Authorization", "Cookie",
						"Set-Cookie" };
	static const char *names[OPTS_MAX_REDACT + 4];
	struct http_view_opts ho = { .mode = o->out, .body_preview = o->body_preview,
				     .redact = names, .budget = mb };
	int i, err;

	*hv = NULL;
	out->no_data = o->no_data;
	if (o->raw || (o->out != OUT_TEXT && o->out != OUT_JSON))
		return 0;
	if (o->redact)
		for (i = 0; i < 4; i++)
			names[ho.nredact++] = defaults[i];
	for (i = 0; i < o->nredact; i++)
		names[ho.nredact++] = o->redact_headers[i];
	err = http_view_new(hv, &ho, out);
	if (err)
		return err;
	out->hv = *hv;
	/* First: it decides before the printer asks whether a chunk is HTTP. */
	return sinks_add(sinks, &http_view_callbacks, *hv, NULL);
}

static int run_trace(const struct tlstap_opts *o, const struct target_list *tl)
{
	size_t ring_bytes = opts_ring_bytes(o);
	struct link_list links = {};
	struct rings rings = {};
	struct tlstap_bpf *skel;
	struct flow_table *ft = NULL;
	struct consumer consumer = {};
	struct pcap_out *pcap = NULL;
	struct http_view *hv = NULL;
	struct sinks sinks = {};
	struct mem_budget mb;
	struct output out;
	struct tlstap_stats bs;
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
	output_init(&out, o->out, outf, o->count);
	mem_budget_init(&mb, opts_max_memory_bytes(o));
	err = setup_http(o, &out, &sinks, &mb, &hv);
	if (err)
		goto cleanup;
	sinks_add(&sinks, &output_callbacks, &out, NULL);
	if (o->write_path) {
		struct pcap_out_opts po = {
			.path = o->write_path, .rotate_bytes = o->rotate_bytes,
			.rotate_secs = o->rotate_secs, .max_files = o->max_files,
			.mono_to_real_ns = out.mono_to_real_ns,
			.stop = &exiting,
		};

		err = pcap_out_open(&pcap, &po);
		if (err) {
			pr_warn("cannot write %s: %s\n", o->write_path, pcapng_open_strerror(err));
			goto cleanup;
		}
		sinks_add(&sinks, &pcap_out_callbacks, pcap, NULL);
	}
	ft = flows_new(&sinks_callbacks, &sinks, TLSTAP_MAX_CONNS);
	if (!ft) {
		err = -ENOMEM;
		goto cleanup;
	}
	flows_set_budget(ft, &mb);
	consumer.ft = ft;
	consumer.skel = skel;
	consumer.rings = &rings;
	consumer.mb = &mb;
	/* What one round may bring in: an eighth of the budget over all rings,
	 * so that records waiting to be ordered stay well within it. */
	if (mb.limit && rings.ncpus > 0) {
		rings.byte_budget = mb.limit / 8 / (size_t)rings.ncpus;
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
	while (!exiting && !output_done(&out)) {
		err = rings_wait(&rings, POLL_MS);
		if (!err)
			err = read_round(&rings, ft, hv, &mb, round++);
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
		drained = read_round(&rings, ft, hv, &mb, round++);
		if (drained < 0)
			break;
		sweep_exited(&consumer);
	}
	/* Bytes of open connections that never reached a ring are gaps too. */
	note_all_conn_ends(&consumer);
	flows_finish(ft);
	output_finish(&out);
	/* Even after a write error: the summary, then what the file lacks. */
	pcap_out_finish(pcap);
	read_bpf_stats(skel, &bs);
	print_summary(&out, flows_stats(ft), &bs, &mb, hv, o->out == OUT_JSON && err == 0 ? outf : NULL);
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
	flows_free(ft);
	pcap_out_close(pcap);
	http_view_free(hv);
	tlstap_bpf__destroy(skel);
	return err;
}

/* -r: the same flows and printers, fed from a file. */
static int run_replay(const struct tlstap_opts *o)
{
	struct flow_table *ft;
	struct http_view *hv = NULL;
	struct sinks sinks = {};
	struct mem_budget mb;
	struct output out;
	char why[256] = "";
	long n;
	int err = 0;

	output_init(&out, o->out, stdout, o->count);
	out.mono_to_real_ns = 0;	/* file times are wall-clock already */
	mem_budget_init(&mb, opts_max_memory_bytes(o));
	err = setup_http(o, &out, &sinks, &mb, &hv);
	if (!err)
		err = sinks_add(&sinks, &output_callbacks, &out, NULL);
	ft = err ? NULL : flows_new(&sinks_callbacks, &sinks, TLSTAP_MAX_CONNS);
	if (!ft) {
		http_view_free(hv);
		return err ? err : -ENOMEM;
	}
	flows_set_budget(ft, &mb);
	n = replay_file(o->read_path, ft, hv, why, sizeof(why));
	if (n < 0) {
		pr_warn("cannot read %s: %s\n", o->read_path, why[0] ? why : strerror((int)-n));
		err = (int)n;
	} else if (n == 0) {
		pr_warn("%s holds no tlstap data packets\n", o->read_path);
	}
	flows_finish(ft);
	output_finish(&out);
	if (!err && flush_output(stdout) < 0) {
		pr_warn("cannot write the output: %s\n", strerror(errno));
		err = -EIO;
	}
	flows_free(ft);
	http_view_free(hv);
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
	if (!o.list_targets && check_system())
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
