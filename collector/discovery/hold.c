/* --hold-new's safety net: no process stays stopped longer than TLSTAP_HOLD_MAX_MS, nor after tlstap ends. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "monotime.h"
#include "hold.h"
#include "quiet_thread.h"
#include "log.h"
#include "tlstap.h"

/* How often the guard looks. */
#define HOLD_CHECK_MS	50

void hold_release(int held_fd, __u32 pid)
{
	kill((pid_t)pid, SIGCONT);
	if (held_fd >= 0)
		bpf_map_delete_elem(held_fd, &pid);
}

/*
 * Resumes the held processes stopped before `before` (0: all). Collected
 * first: deleting while walking restarts the walk.
 */
static void release_older(int held_fd, __u64 before)
{
	__u32 key, next, pids[TLSTAP_MAX_HELD];
	int n = 0, seen = 0, i;
	__u64 since;

	while (seen++ <= TLSTAP_MAX_HELD && n < TLSTAP_MAX_HELD &&
	       !bpf_map_get_next_key(held_fd, seen > 1 ? &key : NULL, &next)) {
		key = next;
		if (!before || (!bpf_map_lookup_elem(held_fd, &key, &since) && since < before))
			pids[n++] = key;
	}
	for (i = 0; i < n; i++) {
		pr_debug("resuming pid %u (held %s)\n", pids[i], before ? "too long" : "at the end");
		hold_release(held_fd, pids[i]);
	}
}

static void *guard(void *arg)
{
	struct hold_guard *g = arg;
	const __u64 max_ns = TLSTAP_HOLD_MAX_MS * 1000000ull;
	__u64 now;

	while (!__atomic_load_n(&g->quit, __ATOMIC_ACQUIRE)) {
		usleep(HOLD_CHECK_MS * 1000);
		now = mono_ns();
		if (now > max_ns)
			release_older(g->held_fd, now - max_ns);
	}
	return NULL;
}

int hold_guard_start(struct hold_guard *g, int held_fd)
{
	int err;

	g->held_fd = held_fd;
	g->quit = false;
	err = quiet_thread_create(&g->thread, guard, g);
	if (err)
		return err;
	g->running = true;
	return 0;
}

void hold_guard_stop(struct hold_guard *g)
{
	if (!g->running)
		return;
	__atomic_store_n(&g->quit, true, __ATOMIC_RELEASE);
	pthread_join(g->thread, NULL);
	g->running = false;
	release_older(g->held_fd, 0);
}
