/* Unit tests of log_escape(), the one escaper of names others choose on their way to a terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include "log.h"

static void test_log_escape_plain_ascii_is_unchanged(void **state)
{
	char out[64];

	assert_string_equal(log_escape(out, sizeof(out), "/usr/lib/libssl.so.3 [1] ~x", SIZE_MAX),
			    "/usr/lib/libssl.so.3 [1] ~x");
}

/* ESC, CR, LF, TAB, DEL and bytes above 0x7f (C1 controls, invalid UTF-8): none passes raw. */
static void test_log_escape_control_and_high_bytes_as_hex(void **state)
{
	static const char in[] = "a\x1b[31m\r\n\t\x7f\x9b\xc3\x28z";
	char out[128];
	size_t i;

	log_escape(out, sizeof(out), in, SIZE_MAX);
	assert_string_equal(out, "a\\x1b[31m\\x0d\\x0a\\x09\\x7f\\x9b\\xc3(z");
	for (i = 0; out[i]; i++)
		assert_true(out[i] >= 0x20 && out[i] < 0x7f);
}

/* A backslash doubled: "\x1b" typed by someone cannot pass for an escaped ESC. */
static void test_log_escape_backslash_is_doubled(void **state)
{
	char out[64];

	assert_string_equal(log_escape(out, sizeof(out), "a\\x1b", SIZE_MAX), "a\\\\x1b");
}

/* maxlen bounds the input (comm is not always NUL-terminated). */
static void test_log_escape_stops_at_maxlen(void **state)
{
	static const char in[4] = { 'a', '\x01', 'b', 'c' };
	char out[64];

	assert_string_equal(log_escape(out, sizeof(out), in, 3), "a\\x01b");
}

/* A result that does not fit ends at a whole escape, NUL-terminated, never past outlen. */
static void test_log_escape_truncates_at_a_whole_escape(void **state)
{
	char out[16];

	memset(out, 'X', sizeof(out));
	log_escape(out, 7, "ab\x1b" "cd", SIZE_MAX);
	assert_string_equal(out, "ab\\x1b");
	memset(out, 'X', sizeof(out));
	log_escape(out, 6, "ab\x1b" "cd", SIZE_MAX);
	assert_string_equal(out, "ab");
	assert_int_equal(out[6], 'X');
	log_escape(out, 1, "abc", SIZE_MAX);
	assert_string_equal(out, "");
}

/* The room LOG_ESCAPED_SIZE promises is enough for the worst input. */
static void test_log_escape_size_holds_worst_case(void **state)
{
	char in[17], out[LOG_ESCAPED_SIZE(16)];

	memset(in, '\x1b', 16);
	in[16] = '\0';
	log_escape(out, sizeof(out), in, SIZE_MAX);
	assert_int_equal(strlen(out), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_escape_plain_ascii_is_unchanged),
		cmocka_unit_test(test_log_escape_control_and_high_bytes_as_hex),
		cmocka_unit_test(test_log_escape_backslash_is_doubled),
		cmocka_unit_test(test_log_escape_stops_at_maxlen),
		cmocka_unit_test(test_log_escape_truncates_at_a_whole_escape),
		cmocka_unit_test(test_log_escape_size_holds_worst_case),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
