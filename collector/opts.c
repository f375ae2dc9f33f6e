/* Parses and validates tlstap's command line; never touches the system. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "opts.h"
#include "probe_table.h"
#include "tlstap.h"

#ifndef TLSTAP_VERSION
#define TLSTAP_VERSION "0.1.0"
#endif

enum {
	OPT_UID = 0x100,
	OPT_COMM,
	OPT_LIST,
	OPT_EMPTY_PROBES,
	OPT_PROBE_MODE,
	OPT_NICE,
	OPT_RAW,
	OPT_BODY,
	OPT_NO_DATA,
	OPT_REDACT,
	OPT_REDACT_HEADER,
	OPT_MAX_MEMORY,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "lib", required_argument, NULL, 'l' },
	{ "output", required_argument, NULL, 'o' },
	{ "write", required_argument, NULL, 'w' },
	{ "read", required_argument, NULL, 'r' },
	{ "file-size", required_argument, NULL, 'C' },
	{ "rotate-seconds", required_argument, NULL, 'G' },
	{ "file-count", required_argument, NULL, 'W' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "snaplen", required_argument, NULL, 's' },
	{ "buffer-size", required_argument, NULL, 'B' },
	{ "list-targets", no_argument, NULL, OPT_LIST },
	{ "empty-probes", no_argument, NULL, OPT_EMPTY_PROBES },
	{ "probe-mode", required_argument, NULL, OPT_PROBE_MODE },
	{ "nice", required_argument, NULL, OPT_NICE },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "body", required_argument, NULL, OPT_BODY },
	{ "no-data", no_argument, NULL, OPT_NO_DATA },
	{ "redact", no_argument, NULL, OPT_REDACT },
	{ "redact-header", required_argument, NULL, OPT_REDACT_HEADER },
	{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void opts_usage(FILE *f)
{
	char probed[512], libs[256];

	/* The libraries' part comes from their table entries. */
	probe_libs_join(probed, sizeof(probed), offsetof(struct tls_lib, help), ",\n", "\nand ");
	probe_libs_join(libs, sizeof(libs), offsetof(struct tls_lib, display), ", ", " or ");
	fprintf(f,
"Usage: tlstap [OPTION]...\n"
"Show the plaintext of TLS connections on this host, without keys or proxies.\n"
"tlstap puts uprobes on %s, and prints\n"
"what every process sends and receives, with its connection.\n"
"Needs root (CAP_BPF and CAP_PERFMON) and a kernel with BTF.\n"
"\n"
"What to trace (default: every process using %s):\n"
"  -p, --pid PID[,PID...]   only these processes (repeatable, up to %d); also\n"
"                           probes their executables when a TLS library is\n"
"                           linked in statically (node)\n"
"      --uid UID|USER       only processes running as this user\n"
"      --comm NAME          only processes whose command name is NAME\n"
"  -l, --lib PATH           also probe this library or executable (repeatable)\n"
"      --list-targets       print the files, versions and probe points that\n"
"                           would be used, and why, then exit\n"
"      --probe-mode MODE    auto (default): probe OpenSSL's internal read/write\n"
"                           functions when the library's code proves it safe\n"
"                           (cheaper traps; also sees the SSL BIO), else the\n"
"                           exported ones; exported: always the exported ones\n"
"\n"
"Output (stdout; diagnostics go to stderr):\n"
"  -o, --output MODE        text (default), json (one object per line), hex,\n"
"                           or none (the default with -w)\n"
"HTTP (HTTP/1.x and HTTP/2 with gRPC, decoded from the plaintext):\n"
"      --raw                text: the raw bytes only, no decoded HTTP view\n"
"      --body N             text: show at most N bytes of each body (default\n"
"                           256; JSON never carries bodies in http objects)\n"
"      --no-data            json: only conn/http/gap/close objects, no data\n"
"      --redact             mask the values of Authorization, Proxy-Authorization,\n"
"                           Cookie and Set-Cookie in decoded output\n"
"      --redact-header NAME mask this header's values too (repeatable)\n"
"\n"
"pcapng:\n"
"  -w, --write FILE         also write pcapng that Wireshark dissects: each\n"
"                           connection a TCP connection whose sequence numbers\n"
"                           are plaintext positions, one interface per process\n"
"                           (mode 0600; - for stdout: tlstap -w - | wireshark -k -i -).\n"
"                           An existing FILE is replaced only if it is your own\n"
"                           regular file with one link, never through a symlink;\n"
"                           a full disk stops tlstap (exit 1) with the file cut\n"
"                           back to its last complete block\n"
"  -C, --file-size MB       with -w: start a new file once one reaches MB\n"
"                           (millions of bytes): FILE, FILE1, FILE2...\n"
"  -G, --rotate-seconds S   with -w: start a new file every S seconds (FILE may\n"
"                           hold strftime patterns such as %%H%%M%%S); a name\n"
"                           the same as the last file's gets a number (FILE,\n"
"                           FILE.1, FILE.2...) rather than replacing it\n"
"  -W, --file-count N       with -C: reuse N file names in a ring; with -G:\n"
"                           stop after N files\n"
"  -r, --read FILE          print a pcapng file tlstap wrote, with -o, as if live\n"
"                           (no root needed)\n"
"  -s, --snaplen BYTES      capture at most BYTES of each TLS call (default 0:\n"
"                           everything); bytes left out are counted as lost\n"
"  -B, --buffer-size KIB    ring buffer per CPU in KiB, 128 or more, rounded\n"
"                           up to a power of two (default %d)\n"
"      --nice N             run the collector at niceness N, -20 to 19 (default\n"
"                           %d: ahead of busy traced programs, so it keeps up\n"
"                           with them; 0 leaves the priority alone)\n"
"      --max-memory MIB     memory for reordering and HTTP decoding, %d to\n"
"                           1048576 MiB (default %d; the ring buffers come on\n"
"                           top). When it is short, the connections whose\n"
"                           decoding holds the most are shown raw instead, and\n"
"                           the summary counts them; raw data is kept\n"
"  -c, --count N            stop after N data events\n"
"  -d, --duration SECONDS   stop after SECONDS (decimals allowed)\n"
"  -v, --verbose            say what is probed and why (twice: debug)\n"
"  -h, --help               this help\n"
"  -V, --version            print the version\n"
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
"  tlstap -o json -c 100 | jq -r .data | base64 -d\n",
		probed, libs, OPTS_MAX_PIDS, OPTS_DEFAULT_BUFFER_KIB, OPTS_DEFAULT_NICE, OPTS_MIN_MAX_MEMORY_MIB,
		OPTS_DEFAULT_MAX_MEMORY_MIB);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Why getopt refused an option: unknown, or a flag given a value. */
static int bad_option(const char *arg, int opt, char *err, size_t errlen)
{
	const struct option *lo;
	size_t len;

	if (!strncmp(arg, "--", 2)) {
		len = strcspn(arg + 2, "=");
		for (lo = long_opts; lo->name; lo++)
			if (strlen(lo->name) == len && !strncmp(lo->name, arg + 2, len) &&
			    lo->has_arg == no_argument)
				return fail(err, errlen, "option '--%s' takes no value", lo->name);
		return fail(err, errlen, "unknown option '%.*s'", (int)(len + 2), arg);
	}
	if (opt > 0x20 && opt < 0x7f)
		return fail(err, errlen, "unknown option '-%c'", opt);
	return fail(err, errlen, "unknown option '%.64s'", arg);
}

/* A whole decimal number in [min, max], nothing else around it. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_pids(const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	char buf[1024], *tok, *next;
	uint64_t v;

	if (strlen(arg) >= sizeof(buf))
		return fail(err, errlen, "--pid: list too long");
	strcpy(buf, arg);
	/* Split by hand: strtok would let "1,,2" and ",1" through. */
	for (tok = buf; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (!*tok)
			return fail(err, errlen, "--pid: empty entry in '%s'", arg);
		if (parse_u64(tok, 1, INT_MAX, &v))
			return fail(err, errlen, "--pid: '%s' is not a process id", tok);
		if (o->npids >= OPTS_MAX_PIDS)
			return fail(err, errlen, "--pid: at most %d processes", OPTS_MAX_PIDS);
		o->pids[o->npids++] = (pid_t)v;
	}
	return 0;
}

static int parse_duration(const char *arg, uint64_t *ms)
{
	double secs;
	char *end;

	/* Plain decimals only: strtod would also take "0x10", " 1" and "inf". */
	if (!*arg || strspn(arg, "0123456789.") != strlen(arg))
		return -EINVAL;
	errno = 0;
	secs = strtod(arg, &end);
	if (errno || *end || !isfinite(secs) || secs <= 0 || secs > 86400.0 * 365)
		return -EINVAL;
	*ms = (uint64_t)ceil(secs * 1000.0);
	return 0;
}

/* Options that only make sense together, or not at all. */
static int check_combinations(struct tlstap_opts *o, char *err, size_t errlen)
{
	if ((o->rotate_bytes || o->rotate_secs || o->max_files) && !o->write_path)
		return fail(err, errlen, "-C, -G and -W need -w FILE");
	if (o->max_files && !o->rotate_bytes && !o->rotate_secs)
		return fail(err, errlen, "-W needs -C or -G");
	if (o->write_path && !strcmp(o->write_path, "-")) {
		if (o->out_given && o->out != OUT_NONE)
			return fail(err, errlen, "-w - writes pcapng to stdout: no -o output can go there too");
		if (o->rotate_bytes || o->rotate_secs)
			return fail(err, errlen, "-w - cannot rotate: -C and -G need a file name");
	}
	if (o->write_path && !o->out_given)
		o->out = OUT_NONE;	/* like tcpdump -w: the file, nothing on the terminal */
	if (o->read_path && (o->write_path || o->npids || o->nlibs || o->has_uid || o->has_comm ||
			     o->list_targets || o->empty_probes || o->snaplen || o->duration_ms))
		return fail(err, errlen,
			    "-r replays a file: tracing options (-w, -p, -l, --uid, --comm, -s, -d, ...) do not apply");
	return OPTS_RUN;
}

int opts_parse(int argc, char **argv, struct tlstap_opts *o, char *err, size_t errlen)
{
	struct passwd *pw;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->out = OUT_TEXT;
	o->buffer_kib = OPTS_DEFAULT_BUFFER_KIB;
	o->nice = OPTS_DEFAULT_NICE;
	o->body_preview = 256;
	o->max_memory_mib = OPTS_DEFAULT_MAX_MEMORY_MIB;
	err[0] = '\0';
	optind = 0;	/* full reset: opts_parse may run more than once */
	opterr = 0;

	while ((c = getopt_long(argc, argv, ":p:l:o:w:r:C:G:W:c:d:s:B:vhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pids(optarg, o, err, errlen))
				return -EINVAL;
			break;
		case OPT_UID:
			if (parse_u64(optarg, 0, UINT32_MAX - 1, &v) == 0) {
				o->uid = (uid_t)v;
			} else {
				pw = getpwnam(optarg);
				if (!pw)
					return fail(err, errlen, "--uid: no user '%s'", optarg);
				o->uid = pw->pw_uid;
			}
			o->has_uid = true;
			break;
		case OPT_COMM:
			if (!*optarg || strlen(optarg) >= OPTS_COMM_LEN)
				return fail(err, errlen,
					    "--comm: '%s' must be 1 to %d characters (the kernel's command name)",
					    optarg, OPTS_COMM_LEN - 1);
			strcpy(o->comm, optarg);
			o->has_comm = true;
			break;
		case 'l':
			if (!*optarg)
				return fail(err, errlen, "--lib: empty path");
			if (o->nlibs >= OPTS_MAX_LIBS)
				return fail(err, errlen, "--lib: at most %d files", OPTS_MAX_LIBS);
			o->libs[o->nlibs++] = optarg;
			break;
		case 'w':
			if (!*optarg)
				return fail(err, errlen, "--write: empty file name");
			o->write_path = optarg;
			break;
		case 'r':
			if (!*optarg)
				return fail(err, errlen, "--read: empty file name");
			o->read_path = optarg;
			break;
		case 'C':
			if (parse_u64(optarg, 1, 1000000, &v))
				return fail(err, errlen, "--file-size: '%s' is not a size in MB from 1 to 1000000",
					    optarg);
			o->rotate_bytes = v * 1000000;
			break;
		case 'G':
			if (parse_u64(optarg, 1, 86400 * 366, &o->rotate_secs))
				return fail(err, errlen, "--rotate-seconds: '%s' is not a positive number of seconds",
					    optarg);
			break;
		case 'W':
			if (parse_u64(optarg, 1, 1000000, &v))
				return fail(err, errlen, "--file-count: '%s' is not a count from 1 to 1000000", optarg);
			o->max_files = (unsigned int)v;
			break;
		case 'o':
			o->out_given = true;
			if (!strcmp(optarg, "text"))
				o->out = OUT_TEXT;
			else if (!strcmp(optarg, "json"))
				o->out = OUT_JSON;
			else if (!strcmp(optarg, "hex"))
				o->out = OUT_HEX;
			else if (!strcmp(optarg, "none"))
				o->out = OUT_NONE;
			else
				return fail(err, errlen,
					    "--output: '%s' is not one of text, json, hex, none", optarg);
			break;
		case 'c':
			if (parse_u64(optarg, 1, UINT64_MAX, &o->count))
				return fail(err, errlen, "--count: '%s' is not a positive number", optarg);
			break;
		case 'd':
			if (parse_duration(optarg, &o->duration_ms))
				return fail(err, errlen, "--duration: '%s' is not a positive number of seconds",
					    optarg);
			break;
		case 's':
			if (parse_u64(optarg, 0, UINT32_MAX, &v))
				return fail(err, errlen, "--snaplen: '%s' is not a number of bytes", optarg);
			o->snaplen = (uint32_t)v;
			break;
		case 'B':
			/* Big enough for the control headroom and whole records; at
			 * most 1 GiB (the kernel's limit is higher). */
			if (parse_u64(optarg, TLSTAP_MIN_RING_KIB, 1024 * 1024, &o->buffer_kib))
				return fail(err, errlen,
					    "--buffer-size: '%s' is not a size in KiB from %d to 1048576",
					    optarg, TLSTAP_MIN_RING_KIB);
			break;
		case OPT_LIST:
			o->list_targets = true;
			break;
		case OPT_EMPTY_PROBES:
			o->empty_probes = true;
			break;
		case OPT_NICE: {
			long v;
			char *end;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < -20 || v > 19)
				return fail(err, errlen, "--nice: '%s' is not a niceness from -20 to 19", optarg);
			o->nice = (int)v;
			break;
		}
		case OPT_RAW:
			o->raw = true;
			break;
		case OPT_NO_DATA:
			o->no_data = true;
			break;
		case OPT_BODY:
			if (parse_u64(optarg, 0, 1 << 20, &o->body_preview))
				return fail(err, errlen, "--body: '%s' is not a byte count from 0 to 1048576", optarg);
			break;
		case OPT_REDACT:
			o->redact = true;
			break;
		case OPT_REDACT_HEADER:
			if (!*optarg || strlen(optarg) > 128)
				return fail(err, errlen, "--redact-header: '%s' is not a header name", optarg);
			if (o->nredact >= OPTS_MAX_REDACT)
				return fail(err, errlen, "--redact-header: at most %d names", OPTS_MAX_REDACT);
			o->redact_headers[o->nredact++] = optarg;
			break;
		case OPT_MAX_MEMORY:
			if (parse_u64(optarg, OPTS_MIN_MAX_MEMORY_MIB, 1024 * 1024, &o->max_memory_mib))
				return fail(err, errlen, "--max-memory: '%s' is not a size in MiB from %d to 1048576",
					    optarg, OPTS_MIN_MAX_MEMORY_MIB);
			break;
		case OPT_PROBE_MODE:
			if (!strcmp(optarg, "auto"))
				o->probe_exported = false;
			else if (!strcmp(optarg, "exported"))
				o->probe_exported = true;
			else
				return fail(err, errlen, "--probe-mode: '%s' is not auto or exported", optarg);
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			opts_usage(stdout);
			return OPTS_EXIT_OK;
		case 'V':
			printf("tlstap %s\n", TLSTAP_VERSION);
			return OPTS_EXIT_OK;
		case ':':
			return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			return bad_option(argv[optind - 1], optopt, err, errlen);
		}
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	return check_combinations(o, err, errlen);
}

size_t opts_max_memory_bytes(const struct tlstap_opts *o)
{
	return (size_t)o->max_memory_mib << 20;
}

/* Ring size in bytes: a power of two, at least one page. */
uint64_t opts_ring_bytes(const struct tlstap_opts *o)
{
	uint64_t want = o->buffer_kib * 1024, size = 4096;

	while (size < want)
		size <<= 1;
	return size;
}
