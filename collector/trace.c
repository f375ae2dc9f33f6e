/* The live run: BPF programs loaded and attached, rings read into the pipeline until stopped, then drained and summed up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "monotime.h"
#include "tlstap.skel.h"
#include "attach.h"
#include "cgroup_cache.h"
#include "cgroup_filter.h"
#include "uprobe_multi.h"
#include "consumer.h"
#include "late_notes.h"
#include "find_targets.h"
#include "log.h"
#include "outstream.h"
#include "pcap_out.h"
#include "pcapng.h"
#include "percpu.h"
#include "pipeline.h"
#include "probe_guards.h"
#include "rings.h"
#include "summary.h"
#include "hold.h"
#include "trace.h"
#include "watch.h"

/* Live output lags by at most this much: records below the wakeup
 * threshold (ring size / 16) wait for the timer. */
#define POLL_MS		50
/* While a reported file's mapping is awaited: soon again. */
#define WATCH_POLL_MS	2

/* Everything one live run holds, freed in trace_free. */
struct trace {
	const struct tlstap_opts *o;
	const volatile sig_atomic_t *stop;
	struct tlstap_bpf *skel;
	struct link_list links;
	struct probe_progs progs;
	struct rings rings;
	struct consumer consumer;
	struct pipeline pipe;
	struct pcap_out *pcap;
	struct outstream *ostream;
	FILE *outf;
	__u64 round;
	struct target_list *tl;
	struct watch *watch;	/* files that appear later; NULL with -l */
	unsigned int watch_waiting;
	struct late_notes notes;
	bool draining;		/* stopped: files still reported are not looked at */
	struct hold_guard guard;	/* --hold-new: nobody held long, or after the end */
	struct cgroup_filter cgf;	/* --cgroup, --container */
};

/* Files that appear later are looked for unless -l named the files to probe. */
static bool watching(const struct tlstap_opts *o)
{
	return o->nlibs == 0;
}

int trace_flush_output(FILE *f)
{
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	if (errno == EPIPE)
		return 1;
	return errno ? -errno : -EIO;
}

/* --cgroup and --container: the cgroups traced, before any probe is attached. */
static int load_cgroup_filter(struct trace *t)
{
	char err[512];
	int rc;

	if (!t->o->cgroup_path && !t->o->container)
		return 0;
	rc = cgroup_filter_start(&t->cgf, bpf_map__fd(t->skel->maps.cgroup_filter),
				 t->o->cgroup_path, t->o->container, err, sizeof(err));
	if (rc)
		pr_warn("%s\n", err);
	return rc;
}

/*
 * Where data records stop in each ring (the control headroom stays free),
 * and when they wake the collector: once a quarter of a fast ring waits
 * (each wakeup is a read of every ring and a hand-over to the outputs:
 * more often cost the collector more CPU per byte, measured with -w), or
 * a sixteenth of a -B ring (which fills only when the collector is behind,
 * or is the CPU's only one, below 512 KiB).
 */
static void set_ring_limits(struct tlstap_bpf *skel, const struct rings *r)
{
	size_t fast = r->fast_bytes ? r->fast_bytes : r->over_bytes;

	skel->rodata->over_base = r->fast_bytes ? (__u32)r->ncpus : 0;
	skel->rodata->fast_limit = fast - TLSTAP_CTRL_HEADROOM;
	skel->rodata->over_limit = r->over_bytes - TLSTAP_CTRL_HEADROOM;
	skel->rodata->fast_wakeup = r->fast_bytes ? fast / 4 : fast / 16;
	skel->rodata->over_wakeup = r->over_bytes / 16;
}

/* The BPF programs opened, configured from o and loaded; the pid filter filled. */
static int load_programs(struct trace *t, size_t ring_bytes)
{
	const struct tlstap_opts *o = t->o;
	struct tlstap_bpf *skel;
	__u8 one = 1;
	int i, err;

	skel = t->skel = tlstap_bpf__open();
	if (!skel) {
		err = -errno;
		pr_warn("cannot open the BPF programs: %s\n", strerror(-err));
		return err;
	}
	skel->rodata->filter_pid = o->npids > 0;
	skel->rodata->filter_uid = o->has_uid;
	skel->rodata->targ_uid = o->uid;
	skel->rodata->filter_comm = o->has_comm;
	skel->rodata->filter_cgroup = o->cgroup_path || o->container;
	memcpy((char *)skel->rodata->targ_comm, o->comm, sizeof(o->comm));
	skel->rodata->snaplen = o->snaplen;
	probe_guards_fill((uint64_t *)skel->rodata->guards, TLSTAP_FUNC_IDS);
	skel->rodata->watch_files = watching(o);
	skel->rodata->hold_new = watching(o) && o->hold_new;
	skel->rodata->self_pid = (__u32)getpid();
	err = bpf_map__set_max_entries(skel->maps.pid_filter, TLSTAP_MAX_PID_FILTER);
	if (!err)
		err = rings_prepare(&t->rings, skel->maps.rings, ring_bytes);
	if (err) {
		pr_warn("cannot create ring buffers of %zu bytes: %s\n", ring_bytes, strerror(-err));
		return err;
	}
	set_ring_limits(skel, &t->rings);
	err = uprobe_multi_prepare(skel->obj);
	if (!err)
		err = tlstap_bpf__load(skel);
	if (err) {
		pr_warn("cannot load the BPF programs: %s (run with -vv for the verifier's log)\n",
			strerror(-err));
		return err;
	}
	for (i = 0; i < o->npids; i++)
		bpf_map_update_elem(bpf_map__fd(skel->maps.pid_filter), &o->pids[i], &one, BPF_ANY);
	t->progs = (struct probe_progs){ .entry = skel->progs.tls_entry, .ret = skel->progs.tls_return,
					 .go_entry = skel->progs.go_entry, .go_ret = skel->progs.go_ret };
	return load_cgroup_filter(t);
}

/*
 * The watch on files that appear later, told what was looked at already,
 * and its notes on connections that began before their probes.
 */
static int make_watch(struct trace *t)
{
	struct tlstap_bpf *skel = t->skel;
	int err;

	if (!watching(t->o))
		return 0;
	t->watch = malloc(sizeof(*t->watch));
	if (!t->watch)
		return -ENOMEM;
	watch_init(t->watch, t->tl, &t->links, &t->progs, bpf_map__fd(skel->maps.known_files), t->o->pids, t->o->npids);
	t->watch->list_only = t->o->list_targets;
	if (t->o->hold_new) {
		t->watch->held_fd = bpf_map__fd(skel->maps.held);
		err = hold_guard_start(&t->guard, t->watch->held_fd);
		if (err) {
			pr_warn("cannot start --hold-new's guard: %s\n", strerror(-err));
			return err;
		}
	}
	t->consumer.on_file = watch_on_report;
	t->consumer.file_ctx = t->watch;
	if (t->o->container) {
		t->watch->on_exec = cgroup_filter_on_exec;
		t->watch->exec_ctx = &t->cgf;
	}
	t->notes = (struct late_notes){ .w = t->watch, .out = &t->pipe.out };
	return late_notes_attach(&t->notes, &t->pipe.sinks);
}

/* The outputs: live stream, printer and views, the -w file, and the flow table feeding them. */
static int open_outputs(struct trace *t)
{
	const struct tlstap_opts *o = t->o;
	int err;

	/* Text, JSON and hex go through a stream a stop request gets past. */
	if (o->out != OUT_NONE) {
		err = outstream_open(&t->ostream, &t->outf, STDOUT_FILENO, 1 << 20, t->stop);
		if (err) {
			pr_warn("cannot set up the output: %s\n", strerror(-err));
			return err;
		}
	}
	err = pipeline_init(&t->pipe, o, t->outf);
	if (err)
		return err;
	if (o->write_path) {
		struct pcap_out_opts po = {
			.path = o->write_path, .rotate_bytes = o->rotate_bytes,
			.rotate_secs = o->rotate_secs, .max_files = o->max_files,
			.mono_to_real_ns = t->pipe.out.mono_to_real_ns,
			.stop = t->stop, .host = o->host, .run_id = o->run_id,
		};

		err = pcap_out_open(&t->pcap, &po);
		if (err) {
			pr_warn("cannot write %s: %s\n", o->write_path, pcapng_open_strerror(err));
			return err;
		}
		pcap_out_attach(t->pcap, &t->pipe.sinks);
	}
	err = make_watch(t);
	if (err)
		return err;
	return pipeline_start(&t->pipe, TLSTAP_MAX_CONNS);
}

/* The rings and their reader, which feeds the flow table. */
static int open_rings(struct trace *t, size_t ring_bytes)
{
	struct mem_budget *mb = &t->pipe.mb;
	int err;

	t->consumer.ft = t->pipe.ft;
	t->consumer.conns = t->skel->maps.conns;
	t->consumer.fd_sessions = t->skel->maps.fd_sessions;
	t->consumer.rings = &t->rings;
	t->consumer.mb = mb;
	/* What one round may bring in: an eighth of the budget over all rings,
	 * so that records waiting to be ordered stay well within it. */
	if (mb->limit && t->rings.nrings > 0) {
		t->rings.byte_budget = mb->limit / 8 / (size_t)t->rings.nrings;
		if (t->rings.byte_budget < 64 * 1024)
			t->rings.byte_budget = 64 * 1024;
	}
	err = rings_create(&t->rings, t->skel->maps.rings, consumer_on_record, &t->consumer);
	if (err)
		pr_warn("cannot create ring buffers of %zu bytes: %s\n", ring_bytes, strerror(-err));
	return err;
}

static int attach_tracepoint(struct trace *t, struct bpf_program *prog, const char *name)
{
	struct bpf_link *link = bpf_program__attach(prog);
	int err;

	if (link && !links_push(&t->links, link))
		return 0;
	err = -errno;
	pr_warn("cannot attach to the %s tracepoint: %s\n", name, strerror(-err));
	return err;
}

/*
 * Every probe: the syscall and exit hooks first, so no TLS call is seen
 * without them, and the watch on new files before the targets found, so
 * none appears unseen between the two.
 */
static int attach_all(struct trace *t, const struct target_list *tl)
{
	struct tlstap_bpf *skel = t->skel;
	int n, err;

	/* Exec: threads that exec leave, and the watch on files that appear
	 * later (its mmap hook is in sys_enter). */
	err = attach_tracepoint(t, skel->progs.sched_process_exec, "sched_process_exec");
	if (!err)
		err = attach_tracepoint(t, skel->progs.sys_enter, "sys_enter");
	if (!err)
		err = attach_tracepoint(t, skel->progs.sched_process_exit, "sched_process_exit");
	if (err)
		return err;
	if (t->o->list_targets) {
		fprintf(stderr, "tlstap: listing the TLS files of programs that start or load them in the "
			"next %llu s (nothing is probed)\n", (unsigned long long)(t->o->duration_ms / 1000));
		return 0;
	}
	n = attach_targets(&t->links, &t->progs, tl, t->o->pids, t->o->npids);
	if (n < 0) {
		pr_warn("no TLS function could be probed: %s\n", strerror(-n));
		return n;
	}
	/* Ahead of the traced programs, so the rings are read as fast as filled. */
	if (t->o->nice && setpriority(PRIO_PROCESS, 0, t->o->nice))
		pr_info("cannot set niceness %d: %s\n", t->o->nice, strerror(errno));
	print_tracing(t->o, n, tl->n);
	return 0;
}

/*
 * One round: every ring read once (fairly), then whatever that settles,
 * on the clock -r drives too: one stamp per round, resolved up to the
 * latest round every ring has been read past. 1: every ring read to its end.
 */
static int read_round(struct trace *t)
{
	struct flow_table *ft = t->pipe.ft;
	__u64 round = t->round++;
	int all;

	flows_set_stamp(ft, round);
	all = rings_read_round(&t->rings, round);
	if (all < 0)
		return all;
	flows_resolve(ft, rings_safe_round(&t->rings));
	consumer_sweep_exited(&t->consumer);
	/* Off the per-byte path: files that appeared since, looked at and probed. */
	if (t->watch && !t->draining)
		t->watch_waiting = watch_run(t->watch);
	return all;
}

/*
 * Reads the rings until a stop: 0, 1 when the output's reader went away
 * (the rest is still drained, for the summary), or -errno.
 */
static int read_until_stopped(struct trace *t)
{
	__u64 deadline = t->o->duration_ms ? mono_ms() + t->o->duration_ms : 0;
	int err = 0, all = 1;

	while (!*t->stop && !output_done(&t->pipe.out)) {
		/* A round that stopped at its budget goes on at once: no wakeup would come. */
		err = all ? rings_wait(&t->rings, t->watch_waiting ? WATCH_POLL_MS : POLL_MS) : 0;
		if (!err) {
			err = read_round(t);
			all = err != 0;
		}
		if (err < 0 && err != -EINTR) {
			pr_warn("reading the ring buffers failed: %s\n", strerror(-err));
			return err;
		}
		err = trace_flush_output(t->outf);
		if (err)
			break;
		if (t->pcap && pcap_out_tick(t->pcap))
			break;	/* a write error, or -G -W has written its files: stop cleanly */
		if (deadline && mono_ms() >= deadline)
			break;
	}
	if (err < 0)
		pr_warn("cannot write the output: %s\n", strerror(-err));
	return err;
}

/* Programs that may write to a ring right now, summed over CPUs. */
static __u64 busy_programs(struct tlstap_bpf *skel)
{
	__u64 busy;

	percpu_sum_u64(skel->maps.busy, &busy, 1);
	return busy;
}

/* Waits up to ms for no BPF program to be inside a ring write: whether none is. */
static bool wait_emitters(struct trace *t, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		if (!busy_programs(t->skel))
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * Makes the BPF side stop writing to the rings, and waits until no program
 * is still writing (see the busy map), so one last drain sees everything.
 * Calls that begin from now on are neither traced nor counted. Should a
 * program still run after 5 s (a 2 GiB copy), detaching is the barrier.
 */
static void stop_emitters(struct trace *t)
{
	__atomic_store_n(&t->skel->bss->stopping, true, __ATOMIC_SEQ_CST);
	if (!wait_emitters(t, 5000))
		links_destroy(&t->links);
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
	if (st.slow_packets)
		pr_warn("%s: the disk could not keep up with 32 MiB waiting: %llu packets (%llu bytes) "
			"left out (the capture went on; Wireshark shows the holes as segments not "
			"captured)\n", st.file ? st.file : "-w", (unsigned long long)st.slow_packets,
			(unsigned long long)st.slow_bytes);
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

/*
 * Stops the producers, drains what they left to the end of every ring, ends
 * every flow, prints the summary (also in JSON unless the output's reader
 * went away: write_err 1) and says what could not be written. The probes are
 * detached later, after the summary: that takes ~0.05 s each.
 */
static int drain_and_sum_up(struct trace *t, int write_err)
{
	struct tlstap_stats bs;
	struct summary sum;
	int i, drained, err;

	stop_emitters(t);
	t->draining = true;
	for (i = 0, drained = 0; i < 100000 && drained != 1; i++) {
		drained = read_round(t);
		if (drained < 0)
			break;
	}
	/* Nothing is held any more: the BPF side reports nothing after the stop. */
	if (t->watch)
		watch_release(t->watch);
	/* Bytes of open connections that never reached a ring are gaps too. */
	consumer_note_all_conn_ends(&t->consumer);
	pipeline_finish(&t->pipe);
	/* Even after a write error: the summary, then what the file lacks. */
	pcap_out_finish(t->pcap);
	percpu_read_stats(t->skel->maps.stats, &bs);
	summary_collect(&sum, &t->pipe.out, flows_stats(t->pipe.ft), &bs, &t->pipe.mb, t->pipe.hv);
	summary_print_text(&sum, stderr);
	if (t->watch)
		watch_summary(t->watch, bs.watch_dropped);
	if (t->o->out == OUT_JSON && write_err == 0)
		summary_print_json(&sum, t->pipe.out.tags, t->outf);
	err = trace_flush_output(t->outf);
	if (err < 0) {
		pr_warn("cannot write the output: %s\n", strerror(-err));
		return err;
	}
	err = report_pcap(t->pcap);
	if (outstream_dropped(t->ostream)) {
		pr_warn("%llu bytes of output were dropped: stdout was not read within %d ms of "
			"the stop request\n", (unsigned long long)outstream_dropped(t->ostream),
			NBFD_STOP_GRACE_MS);
		err = err ? err : -EIO;
	}
	return err;
}

static void trace_free(struct trace *t)
{
	/* No process may stay held (--hold-new), however the run ended: the
	 * BPF side stops holding, and once no program is inside a report
	 * every hold is in the map the guard empties. */
	if (t->guard.running) {
		__atomic_store_n(&t->skel->bss->stopping, true, __ATOMIC_SEQ_CST);
		wait_emitters(t, 1000);
		hold_guard_stop(&t->guard);
	}
	/* Output first: a reader sees its end before the slow detaching. */
	outstream_close(t->ostream, t->outf == stdout ? NULL : t->outf);
	links_destroy(&t->links);
	rings_free(&t->rings);
	pipeline_free(&t->pipe);
	pcap_out_close(t->pcap);
	tlstap_bpf__destroy(t->skel);
	if (t->watch)
		watch_release(t->watch);
	free(t->watch);
}

int trace_run(const struct tlstap_opts *o, struct target_list *tl,
	      const volatile sig_atomic_t *stop)
{
	size_t ring_bytes = opts_ring_bytes(o);
	struct trace t = { .o = o, .stop = stop, .outf = stdout, .round = 1, .tl = tl };
	int err;

	t.rings.template_fd = -1;
	t.rings.epfd = -1;
	/* Cgroup ids are this host's: resolved to containers as they are seen. */
	cgroup_cache_set_live(true);
	err = load_programs(&t, ring_bytes);
	if (!err)
		err = open_outputs(&t);
	if (!err)
		err = open_rings(&t, ring_bytes);
	if (!err)
		err = attach_all(&t, tl);
	if (!err) {
		err = read_until_stopped(&t);
		/* A write error ends the run with no drain and no summary; a
		 * listing has nothing to drain. */
		if (err >= 0 && !o->list_targets)
			err = drain_and_sum_up(&t, err);
	}
	trace_free(&t);
	return err;
}
