/* Unit tests of the watch on files that appear later: device numbers, the report queue, delays, and which connections may predate their probes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "watch.h"

static struct watch *new_watch(void)
{
	struct watch *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->known_fd = -1;	/* no BPF map: forgetting a file is a no-op */
	return w;
}

static void test_watch_dev_numbers_round_trip(void **state)
{
	dev_t dev = makedev(259, 3);

	(void)state;
	assert_int_equal(watch_dev_to_kernel(dev), (259u << 20) | 3);
	assert_true(watch_dev_from_kernel((259u << 20) | 3) == dev);
	assert_true(watch_dev_from_kernel(watch_dev_to_kernel(makedev(8, 0xfffff))) ==
		    makedev(8, 0xfffff));
}

static void test_watch_delay_stats(void **state)
{
	__u64 v[] = { 5, 1, 3, 9 }, min, median, max;

	(void)state;
	watch_delay_stats(v, 4, &min, &median, &max);
	assert_int_equal(min, 1);
	assert_int_equal(median, 5);
	assert_int_equal(max, 9);
	watch_delay_stats(v, 0, &min, &median, &max);
	assert_int_equal(min + median + max, 0);
}

/* A full queue drops (and counts) what comes next; a short record is no report. */
static void test_watch_queue_is_bounded(void **state)
{
	struct tlstap_file_event e = { .type = TLSTAP_EV_EXEC, .pid = 7, .fd = -1 };
	struct watch *w = new_watch();
	unsigned int i;

	(void)state;
	watch_on_report(w, &e, sizeof(e) - 1);
	assert_int_equal(w->n, 0);
	for (i = 0; i < WATCH_QUEUE + 3; i++) {
		e.file.ino = i + 1;
		watch_on_report(w, &e, sizeof(e));
	}
	assert_int_equal(w->n, WATCH_QUEUE);
	assert_int_equal(w->st.dropped, 3);
	assert_int_equal(w->st.reports, WATCH_QUEUE + 3);
	assert_int_equal(w->q[w->head].key.ino, 1);
	free(w);
}

static void test_watch_conn_predates(void **state)
{
	struct watch *w = new_watch();
	__u64 delay = 0;

	(void)state;
	w->late[0] = (struct watch_late){ .pid = 10, .event_ns = 1000000, .attached_ns = 5000000,
					  .sockets = { 3, 7 }, .nsockets = 2 };
	w->late[1] = (struct watch_late){ .pid = 11, .event_ns = 0, .attached_ns = 1,
					  .nsockets = WATCH_LATE_SOCKETS + 1 };
	w->nlate = 2;
	assert_true(watch_conn_predates(w, 10, 7, &delay));
	assert_int_equal(delay, 4000000);
	assert_false(watch_conn_predates(w, 10, 4, &delay));
	/* A socket not known yet cannot be told apart: said. */
	assert_true(watch_conn_predates(w, 10, -1, &delay));
	/* More sockets than noted: every one is said. */
	assert_true(watch_conn_predates(w, 11, 99, &delay));
	/* A process whose files were all probed before it used them. */
	assert_false(watch_conn_predates(w, 12, -1, &delay));
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch_dev_numbers_round_trip),
		cmocka_unit_test(test_watch_delay_stats),
		cmocka_unit_test(test_watch_queue_is_bounded),
		cmocka_unit_test(test_watch_conn_predates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
