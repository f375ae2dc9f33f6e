/* --hold-new's safety net: no process stays stopped longer than TLSTAP_HOLD_MAX_MS, nor after tlstap ends. */
#ifndef TLSTAP_HOLD_H
#define TLSTAP_HOLD_H

#include <pthread.h>
#include <stdbool.h>
#include <linux/types.h>

/*
 * A thread that resumes every process held longer than TLSTAP_HOLD_MAX_MS
 * (BPF map "held"), whatever the main loop is doing: judging a slow file,
 * or blocked writing to a reader that is itself held.
 */
struct hold_guard {
	int held_fd;		/* the BPF map "held"; -1: none */
	pthread_t thread;
	bool running;
	volatile bool quit;
};

/* Starts the guard over the map held_fd: 0 or -errno. */
int hold_guard_start(struct hold_guard *g, int held_fd);
/* Resumes pid and forgets it (held_fd < 0: only resumes). */
void hold_release(int held_fd, __u32 pid);
/*
 * Stops the guard and resumes every process still held. Call after the BPF
 * side stopped holding (its stopping flag). A no-op when never started.
 */
void hold_guard_stop(struct hold_guard *g);

#endif
