/* Files that appear after the start (exec, dlopen, a container's own libraries): looked at and probed between ring rounds. */
#ifndef TLSTAP_WATCH_H
#define TLSTAP_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "tlstap.h"
#include "attach.h"
#include "targets.h"

/* Reports waiting to be looked at; more are dropped (and reported again
 * at the file's next use). */
#define WATCH_QUEUE		1024
/* Time one round may spend looking at files (at least one is looked at). */
#define WATCH_ROUND_MS		20
/* Rounds a mapping may take to show in /proc/PID/maps after its mmap. */
#define WATCH_MAX_TRIES		20
/* Files looked at after the start, and targets in all: beyond, none is added. */
#define WATCH_MAX_FILES		16384
#define WATCH_MAX_TARGETS	4096
/* Delays from exec or mmap to attached probes kept for the median. */
#define WATCH_MAX_DELAYS	4096
/* Processes whose files were probed after they started, remembered to
 * mark their connections (oldest forgotten first). */
#define WATCH_MAX_LATE		1024

/* Sockets of such a process noted at once after the attach. */
#define WATCH_LATE_SOCKETS	32

/* A process that ran or mapped a file before its probes were attached. */
struct watch_late {
	__u32 pid;
	__u64 event_ns;		/* when it ran or mapped the file (CLOCK_MONOTONIC) */
	__u64 attached_ns;	/* when the probes were attached */
	/* Its socket descriptors open then: their connections may have moved
	 * bytes unseen. nsockets > WATCH_LATE_SOCKETS: more than noted. */
	int sockets[WATCH_LATE_SOCKETS];
	unsigned int nsockets;
};

struct watch_stats {
	__u64 reports;		/* files the BPF side reported */
	__u64 files;		/* of them looked at (not known already) */
	__u64 attached;		/* files probed after the start */
	__u64 gone;		/* not looked at: the process was gone or ran another file */
	__u64 dropped;		/* not looked at: too many waiting, or over the limits */
	__u64 held;		/* processes held (--hold-new) */
};

struct watch_item {
	__u32 pid;
	__s32 fd;
	__u64 ts_ns;
	__u16 type;
	__u16 tries;
	bool held;		/* stopped by the BPF side until looked at */
	struct tlstap_file_key key;
};

struct watch {
	struct target_list *tl;
	struct link_list *links;
	struct probe_progs progs;
	int known_fd;			/* the BPF map known_files */
	int held_fd;			/* the BPF map held (--hold-new), else -1 */
	const pid_t *pids;		/* -p, for the new probes */
	int npids;
	struct watch_item q[WATCH_QUEUE];
	unsigned int head, n;
	__u64 delays[WATCH_MAX_DELAYS];
	size_t ndelays;
	struct watch_late late[WATCH_MAX_LATE];
	size_t nlate, late_next;
	struct watch_stats st;
	bool full_said;
	/* --list-targets -d: files that appear are listed on stdout, not probed. */
	bool list_only;
	/* Told of every process that runs a new program (--container looks
	 * at its cgroup); NULL: nobody. */
	void (*on_exec)(void *ctx, __u32 pid);
	void *exec_ctx;
};

/* The kernel's device number (struct tlstap_file_key) as user space writes it, and back. */
dev_t watch_dev_from_kernel(__u32 kdev);
__u32 watch_dev_to_kernel(dev_t dev);

/* Gets w ready and tells the BPF side every file tl has looked at already. */
void watch_init(struct watch *w, struct target_list *tl, struct link_list *links,
		const struct probe_progs *progs, int known_fd,
		const pid_t *pids, int npids);
/* The consumer's hook for TLSTAP_EV_EXEC and TLSTAP_EV_MMAP records (ctx: w). */
void watch_on_report(void *ctx, const void *data, size_t size);
/* Looks at the files reported since the last call, within WATCH_ROUND_MS;
 * returns how many still wait (then the next round should come soon). */
unsigned int watch_run(struct watch *w);
/*
 * Whether the connection on pid's socket fd (-1: not known) may have moved
 * bytes before its probes were attached: its process ran or mapped the file
 * probed later, and the socket was open then (or cannot be told). *delay_ns
 * is then how long after the exec or mmap the probes came.
 */
bool watch_conn_predates(const struct watch *w, __u32 pid, int fd, __u64 *delay_ns);
/* Resumes every process still held (--hold-new) for a report not looked at: at the stop. */
void watch_release(struct watch *w);
/* One stderr line: files probed after the start and their delays;
 * unreported: files the BPF side could not report (its watch_dropped). */
void watch_summary(struct watch *w, __u64 unreported);

/* min, median and max of v[0..n) (sorted in place). */
void watch_delay_stats(__u64 *v, size_t n, __u64 *min, __u64 *median, __u64 *max);

#endif
