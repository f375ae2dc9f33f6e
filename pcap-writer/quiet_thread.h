/* A thread that takes no signals: they stay with the main thread, whose loop a stop request must reach. */
#ifndef TLSTAP_QUIET_THREAD_H
#define TLSTAP_QUIET_THREAD_H

#include <pthread.h>
#include <signal.h>

/* pthread_create with every signal blocked in the new thread: 0 or -errno. */
static inline int quiet_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

#endif
