/* Unit tests of opts_parse() and opts_ring_bytes(): tlstap's command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "opts.h"

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

static void test_opts_defaults_without_arguments(void **state)
{
	assert_int_equal(parse(NULL), OPTS_RUN);
	assert_int_equal(P.o.out, OUT_TEXT);
	assert_int_equal(P.o.buffer_kib, 8192);
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
	assert_int_equal(parse("-p", "1,2", NULL), OPTS_RUN);
	assert_int_equal(P.o.npids, 2);
	assert_int_equal(P.o.pids[0], 1);
	assert_int_equal(P.o.pids[1], 2);

	assert_int_equal(parse("-p", "10,20", "--pid", "30", "-p40", NULL), OPTS_RUN);
	assert_int_equal(P.o.npids, 4);
	assert_int_equal(P.o.pids[0], 10);
	assert_int_equal(P.o.pids[1], 20);
	assert_int_equal(P.o.pids[2], 30);
	assert_int_equal(P.o.pids[3], 40);

	assert_int_equal(parse("-p", "2147483647", NULL), OPTS_RUN);	/* INT_MAX */
	assert_int_equal(P.o.pids[0], 2147483647);
}

static void test_opts_pid_bad_values_rejected(void **state)
{
	static const char *const bad[] = {
		"0", "-1", "abc", "1,,x", "", ",", "1x", "+1", " 1", "2147483648", "1,-2",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse("-p", bad[i], NULL);
		if (P.rc != -EINVAL)
			fail_msg("-p '%s' accepted", bad[i]);
		assert_rejected("--pid");
	}
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

	parse("--comm", "abcdefghijklmnop", NULL);	/* 16 */
	assert_rejected("--comm");
	parse("--comm", "", NULL);
	assert_rejected("--comm");
}

static void test_opts_output_modes(void **state)
{
	assert_int_equal(parse("-o", "text", NULL), OPTS_RUN);
	assert_int_equal(P.o.out, OUT_TEXT);
	assert_int_equal(parse("-o", "json", NULL), OPTS_RUN);
	assert_int_equal(P.o.out, OUT_JSON);
	assert_int_equal(parse("--output", "hex", NULL), OPTS_RUN);
	assert_int_equal(P.o.out, OUT_HEX);
	assert_int_equal(parse("--output=none", NULL), OPTS_RUN);
	assert_int_equal(P.o.out, OUT_NONE);
	/* The last one wins. */
	assert_int_equal(parse("-o", "json", "-o", "hex", NULL), OPTS_RUN);
	assert_int_equal(P.o.out, OUT_HEX);

	parse("-o", "xml", NULL);
	assert_rejected("--output");
	assert_rejected("xml");
	parse("-o", "JSON", NULL);
	assert_rejected("--output");
}

static void test_opts_count_positive_only(void **state)
{
	assert_int_equal(parse("-c", "1", NULL), OPTS_RUN);
	assert_int_equal(P.o.count, 1);
	assert_int_equal(parse("--count", "18446744073709551615", NULL), OPTS_RUN);
	assert_true(P.o.count == UINT64_MAX);

	parse("-c", "0", NULL);
	assert_rejected("--count");
	parse("-c", "-1", NULL);
	assert_rejected("--count");
	parse("-c", "18446744073709551616", NULL);	/* UINT64_MAX + 1 */
	assert_rejected("--count");
	parse("-c", "ten", NULL);
	assert_rejected("--count");
}

static void test_opts_duration_decimals_to_ms(void **state)
{
	assert_int_equal(parse("-d", "0.5", NULL), OPTS_RUN);
	assert_int_equal(P.o.duration_ms, 500);
	assert_int_equal(parse("-d", "2", NULL), OPTS_RUN);
	assert_int_equal(P.o.duration_ms, 2000);
	assert_int_equal(parse("--duration", "1.25", NULL), OPTS_RUN);
	assert_int_equal(P.o.duration_ms, 1250);
	/* Less than a millisecond still stops: never rounded down to "unlimited". */
	assert_int_equal(parse("-d", "0.0001", NULL), OPTS_RUN);
	assert_int_equal(P.o.duration_ms, 1);

	parse("-d", "0", NULL);
	assert_rejected("--duration");
	parse("-d", "-1", NULL);
	assert_rejected("--duration");
	parse("-d", "abc", NULL);
	assert_rejected("--duration");
	parse("-d", "1s", NULL);
	assert_rejected("--duration");
	parse("-d", "nan", NULL);
	assert_rejected("--duration");
	parse("-d", "inf", NULL);
	assert_rejected("--duration");
}

static void test_opts_snaplen(void **state)
{
	assert_int_equal(parse("-s", "0", NULL), OPTS_RUN);
	assert_int_equal(P.o.snaplen, 0);
	assert_int_equal(parse("-s", "64", NULL), OPTS_RUN);
	assert_int_equal(P.o.snaplen, 64);
	assert_int_equal(parse("--snaplen", "4294967295", NULL), OPTS_RUN);
	assert_int_equal(P.o.snaplen, 4294967295u);

	parse("-s", "4294967296", NULL);
	assert_rejected("--snaplen");
	parse("-s", "-5", NULL);
	assert_rejected("--snaplen");
	parse("-s", "1k", NULL);
	assert_rejected("--snaplen");
}

static void test_opts_buffer_size_bounds(void **state)
{
	/* Smaller rings made the BPF side's reserve check wrap (-B 4 to 64). */
	parse("-B", "4", NULL);
	assert_rejected("--buffer-size");
	parse("-B", "127", NULL);
	assert_rejected("--buffer-size");
	assert_int_equal(parse("-B", "128", NULL), OPTS_RUN);
	assert_int_equal(P.o.buffer_kib, 128);
	assert_int_equal(parse("--buffer-size", "1048576", NULL), OPTS_RUN);
	assert_int_equal(P.o.buffer_kib, 1048576);
	parse("-B", "1048577", NULL);
	assert_rejected("--buffer-size");
	parse("-B", "0", NULL);
	assert_rejected("--buffer-size");
}

static void test_opts_max_memory_bounds_in_mib(void **state)
{
	assert_int_equal(parse(NULL), OPTS_RUN);
	assert_int_equal(P.o.max_memory_mib, OPTS_DEFAULT_MAX_MEMORY_MIB);
	assert_true(opts_max_memory_bytes(&P.o) < (1ull << 30));	/* well under 1 GiB */
	assert_int_equal(parse("--max-memory", "8", NULL), OPTS_RUN);
	assert_int_equal(opts_max_memory_bytes(&P.o), 8u << 20);
	assert_int_equal(parse("--max-memory=1048576", NULL), OPTS_RUN);
	assert_int_equal(P.o.max_memory_mib, 1048576);
	parse("--max-memory", "7", NULL);
	assert_rejected("--max-memory");
	parse("--max-memory", "0", NULL);
	assert_rejected("--max-memory");
	parse("--max-memory", "1048577", NULL);
	assert_rejected("--max-memory");
	parse("--max-memory", "64M", NULL);
	assert_rejected("--max-memory");
	parse("--max-memory", "-1", NULL);
	assert_rejected("--max-memory");
	parse("--max-memory", "", NULL);
	assert_rejected("--max-memory");
	parse("--max-memory", "99999999999999999999999", NULL);
	assert_rejected("--max-memory");
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
	assert_int_equal(parse("-p", "7", NULL), OPTS_RUN);
	assert_int_equal(P.o.npids, 1);
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
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&o, 0, sizeof(o));
		o.buffer_kib = cases[i].kib;
		if (opts_ring_bytes(&o) != cases[i].bytes)
			fail_msg("%llu KiB: %llu bytes, want %llu", (unsigned long long)cases[i].kib,
				 (unsigned long long)opts_ring_bytes(&o),
				 (unsigned long long)cases[i].bytes);
	}
	/* And the default as parsed. */
	assert_int_equal(parse(NULL), OPTS_RUN);
	assert_int_equal(opts_ring_bytes(&P.o), 8 << 20);
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
		cmocka_unit_test(test_opts_ring_bytes_power_of_two),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
