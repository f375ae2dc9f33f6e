/* Writing to stdout (a pipe, terminal or socket) without ever blocking for good. */
#ifndef NBFD_H
#define NBFD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* After a stop request, a reader that does not read holds us up this long. */
#define NBFD_STOP_GRACE_MS	500

struct nbfd {
	int fd;
	bool own;		/* a description of our own, closed by nbfd_close */
	bool sock;		/* a socket: each send says MSG_DONTWAIT */
	const volatile sig_atomic_t *stop;	/* NULL: wait as long as it takes */
	uint64_t deadline_ms;	/* 0 until the stop request is seen */
};

/*
 * Prepares fd for writes that never block: a pipe or terminal is reopened
 * non-blocking through /proc/self/fd (a description of its own, so whoever
 * shares the original keeps its flags); a socket is written with
 * MSG_DONTWAIT; a file is used as it is (files do not stall). stop may be
 * NULL. Never fails: at worst fd is used as it is.
 */
void nbfd_init(struct nbfd *o, int fd, const volatile sig_atomic_t *stop);
/* writev that does not wait: -1 with errno EAGAIN when the reader is slow. */
ssize_t nbfd_writev(const struct nbfd *o, const struct iovec *iov, int cnt);
/*
 * Waits until fd takes more: 0, or -ETIMEDOUT once a stop was requested and
 * the grace period has passed (the caller then gives up on the rest).
 */
int nbfd_wait(struct nbfd *o);
/*
 * Writes everything or fails: short writes and EINTR (signals during a big
 * write to a pipe) continue where they stopped; a slow reader of stdout is
 * waited for, but after a stop request only for the grace period
 * (-ETIMEDOUT). *done counts the bytes written, also on error.
 */
int nbfd_write_all(struct nbfd *out, struct iovec *iov, int cnt, size_t *done);
void nbfd_close(struct nbfd *o);

#endif
