/* Unit tests of opts_parse() and opts_ring_bytes(): tlstap's command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "opts.h"
#include "opts_table.h"

#define MAX_ARGS	16

struct parsed {
	struct tlstap_opts o;
	char err[256];
	int rc;
	/* getopt permutes argv and o.libs points into it: keep them alive here. */
	char *argv[MAX_ARGS + 2];
	char store[MAX_ARGS][1024];
};

static struct parsed P;

/* Parses "tlstap" followed by the NULL-terminated arguments. */
static int parse(const char *first, ...)
{
	const char *a;
	va_list ap;
	int argc = 0;

	memset(&P, 0, sizeof(P));
	P.argv[argc++] = strcpy(P.store[0], "tlstap");
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc < MAX_ARGS);
		assert_true(strlen(a) < sizeof(P.store[0]));
		P.argv[argc] = strcpy(P.store[argc], a);
		argc++;
	}
	va_end(ap);
	P.argv[argc] = NULL;
	/* Poison: a failed parse must still write a message. */
	memset(P.err, 'X', sizeof(P.err) - 1);
	P.rc = opts_parse(argc, P.argv, &P.o, P.err, sizeof(P.err));
	return P.rc;
}

/* A rejection: -EINVAL and a one-line message naming the option. */
static void assert_rejected(const char *mentions)
{
	assert_int_equal(P.rc, -EINVAL);
	assert_non_null(memchr(P.err, '\0', sizeof(P.err)));
	if (!strstr(P.err, mentions))
		fail_msg("error '%s' does not mention '%s'", P.err, mentions);
	assert_null(strchr(P.err, '\n'));
	assert_true(strncmp(P.err, "tlstap", 6) != 0);
}

/* Option opt given each of the n values: every one rejected, the message naming mentions. */
static void assert_values_rejected(const char *opt, const char *mentions, const char *const *vals, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		parse(opt, vals[i], NULL);
		if (P.rc != -EINVAL)
			fail_msg("%s '%s' accepted", opt, vals[i]);
		assert_rejected(mentions);
	}
}
/* The arguments parse, and leave field of the options at want. */
#define ACCEPTED(field, want, ...)						\
	do {									\
		assert_int_equal(parse(__VA_ARGS__, NULL), OPTS_RUN);		\
		assert_int_equal(P.o.field, want);				\
	} while (0)
#define REJECTED(opt, mentions, ...)								\
	assert_values_rejected(opt, mentions, (const char *const[]){ __VA_ARGS__ },		\
			       sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void test_opts_defaults_without_arguments(void **state)
{
	assert_int_equal(parse(NULL), OPTS_RUN);
	assert_int_equal(P.o.out, OUT_TEXT);
	assert_int_equal(P.o.buffer_kib, 0);	/* not given: sized by the CPUs */
	assert_int_equal(P.o.npids, 0);
	assert_false(P.o.has_uid);
	assert_false(P.o.has_comm);
	assert_int_equal(P.o.nlibs, 0);
	assert_int_equal(P.o.count, 0);
	assert_int_equal(P.o.duration_ms, 0);
	assert_int_equal(P.o.snaplen, 0);
	assert_int_equal(P.o.verbose, 0);
	assert_false(P.o.list_targets);
	assert_false(P.o.empty_probes);
	assert_string_equal(P.err, "");
}

static void test_opts_pid_list_and_repeats_accumulate(void **state)
{
	ACCEPTED(npids, 2, "-p", "1,2");
	assert_int_equal(P.o.pids[0], 1);
	assert_int_equal(P.o.pids[1], 2);

	ACCEPTED(npids, 4, "-p", "10,20", "--pid", "30", "-p40");
	assert_int_equal(P.o.pids[0], 10);
	assert_int_equal(P.o.pids[1], 20);
	assert_int_equal(P.o.pids[2], 30);
	assert_int_equal(P.o.pids[3], 40);

	assert_int_equal(parse("-p", "2147483647", NULL), OPTS_RUN);	/* INT_MAX */
	assert_int_equal(P.o.pids[0], 2147483647);
}

/* --hold-new is off by default, and meaningless (so refused) with -l: nothing later is probed then. */
static void test_opts_hold_new(void **state)
{
	assert_int_equal(parse(NULL), OPTS_RUN);
	assert_false(P.o.hold_new);
	ACCEPTED(hold_new, true, "--hold-new");
	ACCEPTED(hold_new, true, "--hold-new", "-p", "1");
	parse("--hold-new", "-l", "/x", NULL);
	assert_rejected("--hold-new");
}

/* --list-targets -d watches for files that appear later: not with -l (nothing later is looked at), and
 * never holding programs (nothing is probed to release them for). */
static void test_opts_list_targets_later(void **state)
{
	ACCEPTED(list_targets, true, "--list-targets", "-d", "5");
	assert_int_equal(P.o.duration_ms, 5000);
	ACCEPTED(list_targets, true, "--list-targets", "-l", "/x");
	parse("--list-targets", "-d", "5", "-l", "/x", NULL);
	assert_rejected("--list-targets -d");
	parse("--list-targets", "--hold-new", NULL);
	assert_rejected("--hold-new");
}

static void test_opts_pid_bad_values_rejected(void **state)
{
	REJECTED("-p", "--pid", "0", "-1", "abc", "1,,x", "", ",", "1x", "+1", " 1", "2147483648", "1,-2");
	/* The bad token itself is quoted back; an empty entry quotes the list. */
	parse("-p", "1,x", NULL);
	assert_rejected("'x'");
	parse("-p", "1,,2", NULL);
	assert_rejected("empty entry in '1,,2'");
}

static void test_opts_pid_more_than_max_rejected(void **state)
{
	char list[1024];
	int i, len = 0;

	for (i = 1; i <= OPTS_MAX_PIDS; i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%d", i > 1 ? "," : "", i);
	assert_int_equal(parse("-p", list, NULL), OPTS_RUN);
	assert_int_equal(P.o.npids, 64);
	assert_int_equal(P.o.pids[63], 64);

	snprintf(list + len, sizeof(list) - len, ",65");
	parse("-p", list, NULL);
	assert_rejected("--pid");
	assert_rejected("64");

	/* The limit spans repeated -p too. */
	list[len] = '\0';
	parse("-p", list, "-p", "65", NULL);
	assert_rejected("--pid");
}

static void test_opts_uid_numeric_and_by_name(void **state)
{
	struct passwd *pw;

	assert_int_equal(parse("--uid", "1000", NULL), OPTS_RUN);
	assert_true(P.o.has_uid);
	assert_int_equal(P.o.uid, 1000);

	assert_int_equal(parse("--uid", "0", NULL), OPTS_RUN);
	assert_true(P.o.has_uid);
	assert_int_equal(P.o.uid, 0);

	pw = getpwnam("root");
	assert_non_null(pw);
	assert_int_equal(parse("--uid", "root", NULL), OPTS_RUN);
	assert_true(P.o.has_uid);
	assert_int_equal(P.o.uid, pw->pw_uid);

	/* A user name for which there is no account. */
	assert_null(getpwnam("tlstap-no-such-user"));
	parse("--uid", "tlstap-no-such-user", NULL);
	assert_rejected("--uid");
	assert_rejected("tlstap-no-such-user");
}

static void test_opts_comm_length_limit(void **state)
{
	assert_int_equal(parse("--comm", "abcdefghijklmno", NULL), OPTS_RUN);	/* 15 */
	assert_true(P.o.has_comm);
	assert_string_equal(P.o.comm, "abcdefghijklmno");

	assert_int_equal(parse("--comm", "x", NULL), OPTS_RUN);
	assert_string_equal(P.o.comm, "x");

	REJECTED("--comm", "--comm", "abcdefghijklmnop" /* 16 */, "");
}

static void test_opts_output_modes(void **state)
{
	ACCEPTED(out, OUT_TEXT, "-o", "text");
	ACCEPTED(out, OUT_JSON, "-o", "json");
	ACCEPTED(out, OUT_HEX, "--output", "hex");
	ACCEPTED(out, OUT_NONE, "--output=none");
	/* The last one wins. */
	ACCEPTED(out, OUT_HEX, "-o", "json", "-o", "hex");

	parse("-o", "xml", NULL);
	assert_rejected("--output");
	assert_rejected("xml");
	REJECTED("-o", "--output", "JSON", "", "tex");
	assert_rejected("is not one of text, json, hex, none");
}

static void test_opts_count_positive_only(void **state)
{
	ACCEPTED(count, 1, "-c", "1");
	assert_int_equal(parse("--count", "18446744073709551615", NULL), OPTS_RUN);
	assert_true(P.o.count == UINT64_MAX);

	REJECTED("-c", "--count", "0", "-1", "18446744073709551616" /* UINT64_MAX + 1 */, "ten");
}

static void test_opts_duration_decimals_to_ms(void **state)
{
	ACCEPTED(duration_ms, 500, "-d", "0.5");
	ACCEPTED(duration_ms, 2000, "-d", "2");
	ACCEPTED(duration_ms, 1250, "--duration", "1.25");
	/* Less than a millisecond still stops: never rounded down to "unlimited". */
	ACCEPTED(duration_ms, 1, "-d", "0.0001");

	REJECTED("-d", "--duration", "0", "-1", "abc", "1s", "nan", "inf", "0x10", " 1", "31536001");
}

static void test_opts_snaplen(void **state)
{
	ACCEPTED(snaplen, 0, "-s", "0");
	ACCEPTED(snaplen, 64, "-s", "64");
	ACCEPTED(snaplen, 4294967295u, "--snaplen", "4294967295");

	REJECTED("-s", "--snaplen", "4294967296", "-5", "1k");
}

static void test_opts_buffer_size_bounds(void **state)
{
	/* Smaller rings made the BPF side's reserve check wrap (-B 4 to 64). */
	REJECTED("-B", "--buffer-size", "4", "127", "1048577", "0");
	assert_rejected("from 128 to 1048576");
	ACCEPTED(buffer_kib, 128, "-B", "128");
	ACCEPTED(buffer_kib, 1048576, "--buffer-size", "1048576");
}

static void test_opts_max_memory_bounds_in_mib(void **state)
{
	assert_int_equal(parse(NULL), OPTS_RUN);
	assert_int_equal(P.o.max_memory_mib, OPTS_DEFAULT_MAX_MEMORY_MIB);
	assert_true(opts_max_memory_bytes(&P.o) < (1ull << 30));	/* well under 1 GiB */
	assert_int_equal(parse("--max-memory", "8", NULL), OPTS_RUN);
	assert_int_equal(opts_max_memory_bytes(&P.o), 8u << 20);
	ACCEPTED(max_memory_mib, 1048576, "--max-memory=1048576");
	REJECTED("--max-memory", "--max-memory", "7", "0", "1048577", "64M", "-1", "",
		 "99999999999999999999999");
	assert_rejected("from 8 to 1048576");
	parse("--max-memory", NULL);
	assert_rejected("--max-memory");
}

static void test_opts_flags_and_libs(void **state)
{
	assert_int_equal(parse("-v", "-v", "--list-targets", "--empty-probes",
			       "-l", "/opt/a", "--lib", "/opt/b", NULL), OPTS_RUN);
	assert_int_equal(P.o.verbose, 2);
	assert_true(P.o.list_targets);
	assert_true(P.o.empty_probes);
	assert_int_equal(P.o.nlibs, 2);
	assert_string_equal(P.o.libs[0], "/opt/a");
	assert_string_equal(P.o.libs[1], "/opt/b");

	parse("-l", "", NULL);
	assert_rejected("--lib");
}

static void test_opts_unknown_option_rejected(void **state)
{
	parse("-x", NULL);
	assert_rejected("-x");
	parse("--bogus", NULL);
	assert_rejected("--bogus");
}

/* A flag given a value: the message names the flag and holds no control bytes. */
static void test_opts_flag_with_value_rejected_naming_it(void **state)
{
	const char *p;

	parse("--list-targets=1", NULL);
	assert_rejected("--list-targets");
	for (p = P.err; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	parse("--verbose=2", NULL);
	assert_rejected("--verbose");
}

static void test_opts_missing_value_rejected(void **state)
{
	parse("-p", NULL);
	assert_rejected("-p");
	assert_rejected("needs a value");
	parse("--uid", NULL);
	assert_rejected("--uid");
	parse("-v", "-o", NULL);
	assert_rejected("-o");
}

static void test_opts_stray_argument_rejected(void **state)
{
	parse("foo", NULL);
	assert_rejected("'foo'");
	/* Wherever it stands among options. */
	parse("-v", "bar", "-o", "json", NULL);
	assert_rejected("'bar'");
}

/* A parse after a failed one starts from scratch (getopt state is reset). */
static void test_opts_reparse_after_error_is_clean(void **state)
{
	parse("-p", "1", "-x", NULL);
	assert_rejected("-x");
	ACCEPTED(npids, 1, "-p", "7");
	assert_int_equal(P.o.pids[0], 7);
	assert_string_equal(P.err, "");
}

/* Runs a parse with stdout captured; returns what was printed (caller frees). */
static char *parse_capturing_stdout(const char *arg)
{
	char *text;
	FILE *tmp = tmpfile();
	long len;
	int saved;

	assert_non_null(tmp);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
	parse(arg, NULL);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	fseek(tmp, 0, SEEK_END);
	len = ftell(tmp);
	assert_true(len >= 0);
	text = calloc(1, len + 1);
	assert_non_null(text);
	rewind(tmp);
	assert_int_equal(fread(text, 1, len, tmp), len);
	fclose(tmp);
	return text;
}

static void test_opts_help_and_version_exit_ok(void **state)
{
	char *out;

	out = parse_capturing_stdout("--help");
	assert_int_equal(P.rc, OPTS_EXIT_OK);
	assert_non_null(strstr(out, "Usage: tlstap"));
	assert_non_null(strstr(out, "EXAMPLES:"));
	free(out);

	out = parse_capturing_stdout("-V");
	assert_int_equal(P.rc, OPTS_EXIT_OK);
	assert_true(strncmp(out, "tlstap ", 7) == 0);
	free(out);
}

/* The numbers and names the table gives the options other tests leave out. */
static void test_opts_table_kinds_store_their_fields(void **state)
{
	assert_int_equal(parse(NULL), OPTS_RUN);
	assert_int_equal(P.o.nice, -10);
	assert_int_equal(P.o.body_preview, 256);
	assert_false(P.o.probe_exported);
	assert_int_equal(parse("-w", "f", "-C", "3", "-W", "4", "--nice", "-20", "--body", "0",
			       "--probe-mode", "exported", "--redact-header", "X-A", "--raw", NULL), OPTS_RUN);
	assert_string_equal(P.o.write_path, "f");
	assert_int_equal(P.o.rotate_bytes, 3000000);
	assert_int_equal(P.o.max_files, 4);
	assert_int_equal(P.o.nice, -20);
	assert_int_equal(P.o.body_preview, 0);
	assert_true(P.o.probe_exported);
	assert_int_equal(P.o.nredact, 1);
	assert_string_equal(P.o.redact_headers[0], "X-A");
	assert_true(P.o.raw);
	ACCEPTED(rotate_secs, 86400 * 366, "-w", "f", "-G", "31622400", "--nice=19");
	assert_int_equal(P.o.nice, 19);

	REJECTED("--nice", "a niceness from -20 to 19", "20", "-21", "x", "");
	REJECTED("--probe-mode", "is not auto or exported", "Auto", "");
	REJECTED("-C", "a size in MB from 1 to 1000000", "0", "1000001");
	REJECTED("-G", "a positive number of seconds", "0", "31622401");
	REJECTED("-W", "a count from 1 to 1000000", "0", "1000001");
	REJECTED("--body", "a byte count from 0 to 1048576", "1048577", "-1");
	REJECTED("-w", "--write: empty file name", "");
	REJECTED("-r", "--read: empty file name", "");
	REJECTED("--redact-header", "'' is not a header name", "");
}

/* --host and --run-id: absent by default; printable ASCII of 1 to 255 bytes, never echoed back when refused. */
static void test_opts_host_and_run_id_labels(void **state)
{
	char longest[OPTS_LABEL_MAX + 2];

	assert_int_equal(parse(NULL), OPTS_RUN);
	assert_null(P.o.host);
	assert_null(P.o.run_id);
	assert_int_equal(parse("--host", "node-1.example", "--run-id", "run \"7\" \\ ~", NULL), OPTS_RUN);
	assert_string_equal(P.o.host, "node-1.example");
	assert_string_equal(P.o.run_id, "run \"7\" \\ ~");
	memset(longest, 'n', OPTS_LABEL_MAX);
	longest[OPTS_LABEL_MAX] = '\0';
	assert_int_equal(parse("--host", longest, "-o", "json", NULL), OPTS_RUN);
	assert_int_equal(strlen(P.o.host), OPTS_LABEL_MAX);
	longest[OPTS_LABEL_MAX] = 'n';
	longest[OPTS_LABEL_MAX + 1] = '\0';
	REJECTED("--host", "--host: must be 1 to 255 characters", "", longest);
	REJECTED("--run-id", "--run-id: must be 1 to 255 characters", "", longest);
	REJECTED("--host", "--host: only printable ASCII", "a\nb", "tab\there", "esc\x1b[2J", "del\x7f",
		 "caf\xc3\xa9");
	REJECTED("--run-id", "--run-id: only printable ASCII", "r\r1");
	/* The refused bytes stay out of the message. */
	parse("--host", "x\x1b]0;title\x07", NULL);
	assert_null(strchr(P.err, '\x1b'));
	parse("--host", NULL);
	assert_rejected("--host");
	/* -r replays: the labels are output options, so they apply there too. */
	assert_int_equal(parse("-r", "f.pcapng", "-o", "json", "--host", "h", NULL), OPTS_RUN);
}

/* testdata/NAME, from the repository root (tests run from there) or $TLSTAP_TESTDATA; caller frees. */
static char *read_testdata(const char *name, long *len)
{
	const char *root = getenv("TLSTAP_TESTDATA");
	char path[512], *text;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root && *root ? root : "testdata", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	*len = ftell(f);
	assert_true(*len >= 0);
	rewind(f);
	text = calloc(1, *len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, *len, f), *len);
	fclose(f);
	return text;
}

/* --help byte for byte as in testdata/help.txt (after a deliberate change: tlstap --help > testdata/help.txt). */
static void test_opts_help_matches_golden_file(void **state)
{
	char *out, *want;
	long len, i, line = 1;

	want = read_testdata("help.txt", &len);
	out = parse_capturing_stdout("--help");
	assert_int_equal(P.rc, OPTS_EXIT_OK);
	for (i = 0; i < len && out[i] == want[i]; i++)
		line += want[i] == '\n';
	if (i < len || out[i])
		fail_msg("--help differs from testdata/help.txt at line %ld", line);
	free(out);
	free(want);
}

/* Whether text holds name followed by none of the characters that would make it a longer name. */
static bool holds_word(const char *text, const char *name)
{
	const char *p;
	size_t n = strlen(name);

	for (p = strstr(text, name); p; p = strstr(p + 1, name))
		if (!isalnum((unsigned char)p[n]) && p[n] != '-' && p[n] != '\\')
			return true;
	return false;
}

/* "--list-targets" as groff writes it: "\-\-list\-targets". */
static void groff_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 3 < cap; s++) {
		if (*s == '-')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = '\0';
}

/* Every option of the table, long and short name, in --help and in the man page; hidden ones in neither. */
static void test_opts_every_option_in_help_and_man_page(void **state)
{
	char *help, *man, name[64], esc[128];
	const struct opt_def *d;
	long len;
	size_t i, k;

	help = parse_capturing_stdout("--help");
	man = read_testdata("../docs/tlstap.8", &len);
	for (i = 0; i < opt_defs_n; i++) {
		d = &opt_defs[i];
		for (k = 0; k < i; k++)
			assert_true(strcmp(opt_defs[k].name, d->name) &&
				    (!d->short_name || opt_defs[k].short_name != d->short_name));
		snprintf(name, sizeof(name), "--%s", d->name);
		groff_escape(esc, sizeof(esc), name);
		if (!d->help) {
			assert_false(holds_word(help, name) || holds_word(man, esc));
			continue;
		}
		if (!holds_word(help, name) || !holds_word(man, esc))
			fail_msg("%s missing from --help or docs/tlstap.8", name);
		snprintf(name, sizeof(name), "-%c, --%s", d->short_name, d->name);
		if (d->short_name && !strstr(help, name))
			fail_msg("%s missing from --help", name);
		snprintf(name, sizeof(name), "-%c", d->short_name);
		groff_escape(esc, sizeof(esc), name);
		if (d->short_name && !holds_word(man, esc))
			fail_msg("%s missing from docs/tlstap.8", name);
	}
	free(help);
	free(man);
}

static void test_opts_ring_bytes_power_of_two(void **state)
{
	static const struct { uint64_t kib, bytes; } cases[] = {
		{ 8192, 8ull << 20 },
		{ 5, 8192 },
		{ 4, 4096 },
		{ 6, 8192 },
		{ 8, 8192 },
		{ 9, 16384 },
		{ 1000, 1ull << 20 },
		{ 1024, 1ull << 20 },
		{ 1025, 2ull << 20 },
		{ 1048576, 1ull << 30 },
	};
	struct tlstap_opts o;
	uint64_t want;
	long cpus;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&o, 0, sizeof(o));
		o.buffer_kib = cases[i].kib;
		if (opts_ring_bytes(&o) != cases[i].bytes)
			fail_msg("%llu KiB: %llu bytes, want %llu", (unsigned long long)cases[i].kib,
				 (unsigned long long)opts_ring_bytes(&o),
				 (unsigned long long)cases[i].bytes);
	}
	/* And the default as parsed: 64 MiB over the CPUs, at least 8 MiB each, a power of two. */
	assert_int_equal(parse(NULL), OPTS_RUN);
	cpus = sysconf(_SC_NPROCESSORS_CONF);
	want = cpus >= 8 ? 8 << 20 : cpus >= 4 ? 16 << 20 : cpus >= 2 ? 32 << 20 : 64 << 20;
	assert_int_equal(opts_ring_bytes(&P.o), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_defaults_without_arguments),
		cmocka_unit_test(test_opts_pid_list_and_repeats_accumulate),
		cmocka_unit_test(test_opts_pid_bad_values_rejected),
		cmocka_unit_test(test_opts_pid_more_than_max_rejected),
		cmocka_unit_test(test_opts_uid_numeric_and_by_name),
		cmocka_unit_test(test_opts_comm_length_limit),
		cmocka_unit_test(test_opts_output_modes),
		cmocka_unit_test(test_opts_count_positive_only),
		cmocka_unit_test(test_opts_duration_decimals_to_ms),
		cmocka_unit_test(test_opts_snaplen),
		cmocka_unit_test(test_opts_buffer_size_bounds),
		cmocka_unit_test(test_opts_max_memory_bounds_in_mib),
		cmocka_unit_test(test_opts_flags_and_libs),
		cmocka_unit_test(test_opts_unknown_option_rejected),
		cmocka_unit_test(test_opts_flag_with_value_rejected_naming_it),
		cmocka_unit_test(test_opts_missing_value_rejected),
		cmocka_unit_test(test_opts_stray_argument_rejected),
		cmocka_unit_test(test_opts_reparse_after_error_is_clean),
		cmocka_unit_test(test_opts_help_and_version_exit_ok),
		cmocka_unit_test(test_opts_table_kinds_store_their_fields),
		cmocka_unit_test(test_opts_help_matches_golden_file),
		cmocka_unit_test(test_opts_every_option_in_help_and_man_page),
		cmocka_unit_test(test_opts_ring_bytes_power_of_two),
		cmocka_unit_test(test_opts_hold_new),
		cmocka_unit_test(test_opts_list_targets_later),
		cmocka_unit_test(test_opts_host_and_run_id_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
