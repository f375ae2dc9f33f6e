/* Every option of tlstap, once: its names, kind, limits, default and --help text, in --help order. */
#include <stdint.h>
#include <linux/types.h>
#include "opts_table.h"
#include "tlstap.h"

const char opts_help_head[] =
	"Usage: tlstap [OPTION]...\n"
	"Show the plaintext of TLS connections on this host, without keys or proxies.\n"
	"tlstap puts uprobes on {probes}, and prints\n"
	"what every process sends and receives, with its connection.\n"
	"Needs root (CAP_BPF and CAP_PERFMON) and a kernel with BTF.\n";

const char opts_help_tail[] =
	"\n"
	"tlstap prints \"tlstap: tracing ...\" on stderr once every probe is attached.\n"
	"Ctrl-C (SIGINT) or SIGTERM drains the buffers, prints a summary of events,\n"
	"bytes and losses on stderr and exits 0, also when the reader of stdout goes\n"
	"away (| head). A stdout nobody reads holds the stop up 500 ms at most; what\n"
	"it did not take is dropped and counted. Exit status 2: bad usage; 1: failure,\n"
	"output dropped, or a -w file left incomplete. Captured bytes are indented in\n"
	"the text view; tlstap's own lines start in column 0.\n"
	"\n"
	"EXAMPLES:\n"
	"  tlstap                       # every TLS connection, as text\n"
	"  tlstap -p 1234 -o json       # one process, JSON lines\n"
	"  tlstap --comm nginx -o hex   # nginx only, hexdump\n"
	"  tlstap -l /opt/app/bin/app   # a program with OpenSSL linked in\n"
	"  tlstap -w tls.pcapng         # for Wireshark; then: tlstap -r tls.pcapng\n"
	"  tlstap -w - | wireshark -k -i -\n"
	"  tlstap -w cap -C 100 -W 5    # at most 5 files of 100 MB\n"
	"  tlstap -o json -c 100 | jq -r .data | base64 -d\n";

static const char *const out_modes[] = {
	[OUT_TEXT] = "text", [OUT_JSON] = "json", [OUT_HEX] = "hex", [OUT_NONE] = "none", NULL,
};
static const char *const probe_modes[] = { "auto", "exported", NULL };	/* probe_exported */

const struct opt_def opt_defs[] = {
	{ "pid", 'p', "PID[,PID...]", opt_pids, OPT_FIELD(pids),
	  .count = offsetof(struct tlstap_opts, npids), .max = OPTS_MAX_PIDS,
	  .section = "\nWhat to trace (default: every process using {libs}):",
	  .help = "only these processes (repeatable, up to {max}); also\n"
		  "probes their executables when a TLS library is\n"
		  "linked in statically (node)" },
	{ "uid", 0, "UID|USER", opt_user, OPT_FIELD(uid), OPT_SEEN(has_uid),
	  .help = "only processes running as this user" },
	{ "comm", 0, "NAME", opt_name, OPT_FIELD(comm), OPT_SEEN(has_comm),
	  .help = "only processes whose command name is NAME" },
	{ "cgroup", 0, "PATH", opt_string, OPT_FIELD(cgroup_path), .empty = "cgroup path",
	  .help = "only processes in this cgroup v2 directory or below\n"
		  "it (filtered in the kernel, before any copy)" },
	{ "container", 0, "ID", opt_hex, OPT_FIELD(container), .min = 4, .max = 64,
	  .what = "a container id prefix of {min} to {max} lowercase hex digits",
	  .help = "only processes in containers whose id starts with ID\n"
		  "(Docker, containerd, CRI-O, Podman cgroups; ones\n"
		  "that start later are added when they run a program\n"
		  "tlstap has not seen yet)" },
	{ "lib", 'l', "PATH", opt_strings, OPT_FIELD(libs),
	  .count = offsetof(struct tlstap_opts, nlibs), .max = OPTS_MAX_LIBS,
	  .empty = "path", .items = "files",
	  .help = "also probe this library or executable (repeatable)" },
	{ "list-targets", 0, NULL, opt_flag, OPT_FIELD(list_targets),
	  .help = "print the files, versions and probe points that\n"
		  "would be used, and why, then exit; with -d, then\n"
		  "also those of programs that start in that time" },
	{ "probe-mode", 0, "MODE", opt_choice, OPT_FIELD(probe_exported), .choices = probe_modes,
	  .help = "auto (default): probe OpenSSL's internal read/write\n"
		  "functions when the library's code proves it safe\n"
		  "(cheaper traps; also sees the SSL BIO), else the\n"
		  "exported ones; exported: always the exported ones" },
	{ "hold-new", 0, NULL, opt_flag, OPT_FIELD(hold_new),
	  .help = "stop a process that runs or maps a file tlstap\n"
		  "has not looked at (SIGSTOP) until it is probed\n"
		  "(SIGCONT): no TLS call missed, but intrusive, off\n"
		  "by default (shells' job control sees the stop)" },

	{ "output", 'o', "MODE", opt_choice, OPT_FIELD(out), OPT_SEEN(out_given), .choices = out_modes,
	  .section = "\nOutput (stdout; diagnostics go to stderr):",
	  .help = "text (default), json (one object per line), hex,\n"
		  "or none (the default with -w)" },
	/* Labels for a fleet's log pipeline: which node, which capture. */
	{ "host", 0, "NAME", opt_label, OPT_FIELD(host), .len = OPTS_LABEL_MAX,
	  .help = "add \"host\":NAME to every JSON line and a\n"
		  "host=NAME comment to each pcapng section (NAME:\n"
		  "\"$(hostname)\", or a pod's NODE_NAME)" },
	{ "run-id", 0, "ID", opt_label, OPT_FIELD(run_id), .len = OPTS_LABEL_MAX,
	  .help = "add \"run_id\":ID likewise (run_id=ID in pcapng)" },

	{ "raw", 0, NULL, opt_flag, OPT_FIELD(raw),
	  .section = "HTTP (HTTP/1.x and HTTP/2 with gRPC, decoded from the plaintext):",
	  .help = "text: the raw bytes only, no decoded HTTP view" },
	{ "body", 0, "N", opt_number, OPT_FIELD(body_preview), .min = 0, .max = 1 << 20, .def = 256,
	  .what = "a byte count from {min} to {max}",
	  .help = "text: show at most N bytes of each body (default\n"
		  "{default}; JSON never carries bodies in http objects)" },
	{ "no-data", 0, NULL, opt_flag, OPT_FIELD(no_data),
	  .help = "json: only conn/http/gap/close objects, no data" },
	{ "redact", 0, NULL, opt_flag, OPT_FIELD(redact),
	  .help = "mask the values of Authorization, Proxy-Authorization,\n"
		  "Cookie and Set-Cookie in decoded output" },
	{ "redact-header", 0, "NAME", opt_strings, OPT_FIELD(redact_headers),
	  .count = offsetof(struct tlstap_opts, nredact), .max = OPTS_MAX_REDACT, .len = 128,
	  .what = "a header name", .items = "names",
	  .help = "mask this header's values too (repeatable)" },

	{ "write", 'w', "FILE", opt_string, OPT_FIELD(write_path), .empty = "file name",
	  .section = "\npcapng:",
	  .help = "also write pcapng that Wireshark dissects: each\n"
		  "connection a TCP connection whose sequence numbers\n"
		  "are plaintext positions, one interface per process\n"
		  "(mode 0600; - for stdout: tlstap -w - | wireshark -k -i -).\n"
		  "An existing FILE is replaced only if it is your own\n"
		  "regular file with one link, never through a symlink;\n"
		  "a full disk stops tlstap (exit 1) with the file cut\n"
		  "back to its last complete block" },
	/* Megabytes of 1,000,000 bytes, as tcpdump's -C. */
	{ "file-size", 'C', "MB", opt_number, OPT_FIELD(rotate_bytes), .min = 1, .max = 1000000,
	  .scale = 1000000, .what = "a size in MB from {min} to {max}",
	  .help = "with -w: start a new file once one reaches MB\n"
		  "(millions of bytes): FILE, FILE1, FILE2..." },
	{ "rotate-seconds", 'G', "S", opt_number, OPT_FIELD(rotate_secs), .min = 1, .max = 86400 * 366,
	  .what = "a positive number of seconds",
	  .help = "with -w: start a new file every S seconds (FILE may\n"
		  "hold strftime patterns such as %H%M%S); a name\n"
		  "the same as the last file's gets a number (FILE,\n"
		  "FILE.1, FILE.2...) rather than replacing it" },
	{ "file-count", 'W', "N", opt_number, OPT_FIELD(max_files), .min = 1, .max = 1000000,
	  .what = "a count from {min} to {max}",
	  .help = "with -C: reuse N file names in a ring; with -G:\n"
		  "stop after N files" },
	{ "read", 'r', "FILE", opt_string, OPT_FIELD(read_path), .empty = "file name",
	  .help = "print a pcapng file tlstap wrote, with -o, as if live\n"
		  "(no root needed)" },
	{ "snaplen", 's', "BYTES", opt_number, OPT_FIELD(snaplen), .min = 0, .max = UINT32_MAX,
	  .what = "a number of bytes",
	  .help = "capture at most BYTES of each TLS call (default {default}:\n"
		  "everything); bytes left out are counted as lost" },
	/* Big enough for the control headroom and whole records; at most
	 * 1 GiB (the kernel's limit is higher). */
	{ "buffer-size", 'B', "KIB", opt_number, OPT_FIELD(buffer_kib), .min = TLSTAP_MIN_RING_KIB,
	  .max = 1024 * 1024, .what = "a size in KiB from {min} to {max}",
	  .help = "ring buffer per CPU in KiB, {min} or more, rounded\n"
		  "up to a power of two (default: 64 MiB over the\n"
		  "CPUs, at least 8192 KiB each); from 512 KiB, each\n"
		  "CPU writes first to a fast ring of a quarter of it\n"
		  "(at most 4 MiB), and to this one from when that is\n"
		  "full until this one is read empty" },
	{ "nice", 0, "N", opt_signed, OPT_FIELD(nice), .min = -20, .max = 19, .def = OPTS_DEFAULT_NICE,
	  .what = "a niceness from {min} to {max}",
	  .help = "run the collector at niceness N, {min} to {max} (default\n"
		  "{default}: ahead of busy traced programs, so it keeps up\n"
		  "with them; 0 leaves the priority alone)" },
	{ "max-memory", 0, "MIB", opt_number, OPT_FIELD(max_memory_mib), .min = OPTS_MIN_MAX_MEMORY_MIB,
	  .max = 1024 * 1024, .def = OPTS_DEFAULT_MAX_MEMORY_MIB, .what = "a size in MiB from {min} to {max}",
	  .help = "memory for reordering and HTTP decoding, {min} to\n"
		  "{max} MiB (default {default}; the ring buffers come on\n"
		  "top). When it is short, the connections whose\n"
		  "decoding holds the most are shown raw instead, and\n"
		  "the summary counts them; raw data is kept" },
	{ "count", 'c', "N", opt_number, OPT_FIELD(count), .min = 1, .max = UINT64_MAX,
	  .what = "a positive number",
	  .help = "stop after N data events" },
	{ "duration", 'd', "SECONDS", opt_duration, OPT_FIELD(duration_ms), .max = 86400 * 365,
	  .what = "a positive number of seconds",
	  .help = "stop after SECONDS (decimals allowed)" },
	{ "verbose", 'v', NULL, opt_count, OPT_FIELD(verbose),
	  .help = "say what is probed and why (twice: debug)" },
	{ "help", 'h', NULL, opt_help, .help = "this help" },
	{ "version", 'V', NULL, opt_version, .help = "print the version" },

	/* The benchmark's floor (probes that do nothing): not for users, so not in --help. */
	{ "empty-probes", 0, NULL, opt_flag, OPT_FIELD(empty_probes) },
};

const size_t opt_defs_n = sizeof(opt_defs) / sizeof(opt_defs[0]);
_Static_assert(sizeof(opt_defs) / sizeof(opt_defs[0]) <= OPT_DEFS_MAX, "raise OPT_DEFS_MAX");
