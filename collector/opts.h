/* Command-line options of tlstap: parsing and validation, no side effects. */
#ifndef TLSTAP_OPTS_H
#define TLSTAP_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "tlstap.h"

/* The BPF side's limits: its pid filter table, a task's comm. */
#define OPTS_MAX_PIDS	TLSTAP_MAX_PID_FILTER
#define OPTS_MAX_LIBS	64
#define OPTS_COMM_LEN	TLSTAP_COMM_LEN
#define OPTS_MAX_REDACT	32
/* --host and --run-id: a DNS name's 253 bytes fit. */
#define OPTS_LABEL_MAX	255

enum out_mode { OUT_TEXT, OUT_JSON, OUT_HEX, OUT_NONE };

struct tlstap_opts {
	enum out_mode out;
	pid_t pids[OPTS_MAX_PIDS];
	int npids;
	bool has_uid;
	uid_t uid;
	bool has_comm;
	char comm[OPTS_COMM_LEN];
	const char *libs[OPTS_MAX_LIBS];	/* point into argv */
	int nlibs;
	uint64_t count;		/* 0: unlimited */
	uint64_t duration_ms;	/* 0: unlimited */
	uint32_t snaplen;	/* 0: whole calls */
	uint64_t buffer_kib;	/* per CPU ring */
	int verbose;
	bool list_targets;
	bool probe_exported;	/* --probe-mode exported */
	bool hold_new;		/* --hold-new: stop new processes until probed */
	int nice;		/* the collector's scheduling niceness */
	bool out_given;		/* -o was on the command line */
	const char *write_path;	/* -w: pcapng ("-" = stdout) */
	uint64_t rotate_bytes;	/* -C, in bytes (MB of 1,000,000) */
	uint64_t rotate_secs;	/* -G */
	unsigned int max_files;	/* -W */
	const char *read_path;	/* -r: replay a tlstap pcapng */
	bool raw;		/* --raw: no decoded HTTP view */
	bool no_data;		/* --no-data: JSON without data events */
	uint64_t body_preview;	/* --body */
	bool redact;		/* --redact */
	const char *redact_headers[OPTS_MAX_REDACT];
	int nredact;
	bool empty_probes;	/* benchmark floor: probes that do nothing */
	uint64_t max_memory_mib;	/* --max-memory: reordering and decoding buffers, MiB */
	const char *cgroup_path;	/* --cgroup: a cgroup v2 directory */
	const char *container;		/* --container: a container id prefix (hex) */
	const char *host;	/* --host: the node's name in every JSON line and pcapng section */
	const char *run_id;	/* --run-id: likewise */
};

enum opts_result {
	OPTS_RUN = 0,		/* options valid: trace */
	OPTS_EXIT_OK = 1,	/* --help or --version printed: exit 0 */
};

/*
 * Without -B: OPTS_RING_TOTAL_KIB over the CPUs, at least OPTS_DEFAULT_BUFFER_KIB
 * each. On few CPUs the rings must absorb the collector's turns off the CPU
 * under full load (measured: 8 MiB rings on 2 CPUs lost records in 30 s of
 * 64 KiB responses with -w, 32 MiB ones did not); on many, each ring takes
 * a share of the load.
 */
#define OPTS_DEFAULT_BUFFER_KIB	8192
#define OPTS_RING_TOTAL_KIB	65536
/* Well under what a busy host can spare; decoding degrades before it is reached. */
#define OPTS_DEFAULT_MAX_MEMORY_MIB	256
#define OPTS_MIN_MAX_MEMORY_MIB		8
/* Ahead of the traced programs: a starved collector loses data. */
#define OPTS_DEFAULT_NICE	(-10)

/*
 * Parses argv into *o. Returns OPTS_RUN, OPTS_EXIT_OK, or -EINVAL with a
 * one-line reason in err (without the program name or a newline).
 */
int opts_parse(int argc, char **argv, struct tlstap_opts *o, char *err, size_t errlen);
void opts_usage(FILE *f);
/* --max-memory in bytes. */
size_t opts_max_memory_bytes(const struct tlstap_opts *o);
/* The per-CPU ring size in bytes: -B rounded up to a power of two. */
uint64_t opts_ring_bytes(const struct tlstap_opts *o);

#endif
