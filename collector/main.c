/* tlstap: parses the command line, finds the TLS libraries, then traces (trace.c), replays a file (-r) or lists targets. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "monotime.h"
#include "tlstap_empty.skel.h"
#include "attach.h"
#include "uprobe_multi.h"
#include "find_targets.h"
#include "log.h"
#include "opts.h"
#include "pipeline.h"
#include "replay.h"
#include "system.h"
#include "targets.h"
#include "trace.h"

#define EXIT_USAGE	2

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
	/* A closed terminal (SIGHUP) or SIGQUIT stops cleanly too: held programs are resumed. */
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL) || sigaction(SIGQUIT, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (ulimit -f) is a write error like a full disk, not a crash. */
	signal(SIGXFSZ, SIG_IGN);
	return 0;
}

/* Waits for a signal or -d; the benchmark floor has nothing to consume. */
static void wait_until_stopped(const struct tlstap_opts *o)
{
	__u64 deadline = o->duration_ms ? mono_ms() + o->duration_ms : 0;

	while (!exiting && (!deadline || mono_ms() < deadline))
		usleep(50000);
}

static int run_empty(const struct tlstap_opts *o, const struct target_list *tl)
{
	struct tlstap_empty_bpf *skel;
	struct link_list links = {};
	struct probe_progs progs;
	int n, err;

	skel = tlstap_empty_bpf__open();
	if (!skel) {
		err = -errno;
		pr_warn("cannot load the empty probes: %s\n", strerror(-err));
		return err;
	}
	err = uprobe_multi_prepare(skel->obj);
	if (!err)
		err = tlstap_empty_bpf__load(skel);
	if (err) {
		pr_warn("cannot load the empty probes: %s\n", strerror(-err));
		goto cleanup;
	}
	/* Go's points too: plain uprobes at its entry and RETs. */
	progs = (struct probe_progs){ .entry = skel->progs.empty_entry,
				      .ret = skel->progs.empty_return,
				      .go_entry = skel->progs.empty_entry,
				      .go_ret = skel->progs.empty_entry };
	n = attach_targets(&links, &progs, tl, o->pids, o->npids);
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

/*
 * --list-targets -d: after the list, the TLS files of programs that start
 * (or load them) in the next -d, each listed as it appears, none probed.
 */
static int list_later(const struct tlstap_opts *o, struct target_list *tl)
{
	struct tlstap_opts lo = *o;
	int err = install_signals();

	lo.out = OUT_NONE;	/* stdout is the list's */
	return err ? err : trace_run(&lo, tl, &exiting);
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
	if (!err && trace_flush_output(stdout) < 0) {
		pr_warn("cannot write the output: %s\n", strerror(errno));
		err = -EIO;
	}
	pipeline_free(&pipe);
	return err;
}

/* stdout's buffer, alive until exit flushes it. */
static char stdout_buf[1 << 20];

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
	/* Given, not sized: glibc ignores the size of a buffer it allocates. */
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));

	if (o.read_path) {
		signal(SIGPIPE, SIG_IGN);
		return run_replay(&o) ? 1 : 0;
	}
	/* Listing needs no privileges, unless it watches for files that appear (-d). */
	if ((!o.list_targets || o.duration_ms) && system_check())
		return 1;
	err = find_targets(&o, &tl);
	if (err) {
		targets_free(&tl);
		return err == -EINVAL ? EXIT_USAGE : 1;
	}
	if (o.list_targets) {
		list_targets(&tl);
		err = trace_flush_output(stdout) < 0 ? -EIO : 0;
		if (!err && o.duration_ms)
			err = list_later(&o, &tl);
		targets_free(&tl);
		return err ? 1 : 0;
	}
	err = install_signals();
	if (!err)
		err = o.empty_probes ? run_empty(&o, &tl) : trace_run(&o, &tl, &exiting);
	targets_free(&tl);
	return err ? 1 : 0;
}
