/* Live output on stdout that a stop request can always get past, even when nobody reads it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "outstream.h"

struct outstream {
	int fd;
	bool own_fd;
	const volatile sig_atomic_t *stop;
	__u64 deadline_ms;	/* 0 until the stop request is seen */
	__u64 dropped;
};

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* Past the grace period after a stop request: stop waiting for the reader. */
static bool give_up(struct outstream *os)
{
	if (!*os->stop)
		return false;
	if (!os->deadline_ms)
		os->deadline_ms = mono_ms() + OUTSTREAM_STOP_GRACE_MS;
	return mono_ms() >= os->deadline_ms;
}

/* stdio's write hook: all of len, or -1 with errno (EPIPE: the reader left). */
static ssize_t os_write(void *cookie, const char *buf, size_t len)
{
	struct outstream *os = cookie;
	struct pollfd pfd = { .fd = os->fd, .events = POLLOUT };
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (os->dropped || give_up(os)) {
			/* Once dropping, keep dropping: no torn line in the middle. */
			os->dropped += len - done;
			return (ssize_t)len;
		}
		n = write(os->fd, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		/* Short timeouts: a stop request is noticed within one. */
		poll(&pfd, 1, 50);
	}
	return (ssize_t)len;
}

static int os_close(void *cookie)
{
	struct outstream *os = cookie;

	if (os->own_fd)
		close(os->fd);
	os->fd = -1;
	return 0;
}

/* A non-blocking description of fd's pipe or terminal, or fd itself. */
static int reopen_nonblocking(int fd, bool *own)
{
	struct stat st, nst;
	char path[64];
	int nfd;

	*own = false;
	if (fstat(fd, &st) || (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)))
		return fd;	/* files do not stall; sockets cannot be reopened */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0)
		return fd;	/* blocking writes still end with EINTR on a signal */
	/* The same pipe or terminal, not something that replaced it meanwhile. */
	if (fstat(nfd, &nst) || nst.st_dev != st.st_dev || nst.st_ino != st.st_ino ||
	    nst.st_rdev != st.st_rdev) {
		close(nfd);
		return fd;
	}
	*own = true;
	return nfd;
}

int outstream_open(struct outstream **out, FILE **f, int fd, size_t buf_size,
		   const volatile sig_atomic_t *stop)
{
	cookie_io_functions_t io = { .write = os_write, .close = os_close };
	struct outstream *os;
	int err;

	os = calloc(1, sizeof(*os));
	if (!os)
		return -ENOMEM;
	os->stop = stop;
	os->fd = reopen_nonblocking(fd, &os->own_fd);
	*f = fopencookie(os, "w", io);
	if (!*f) {
		err = -errno;
		if (os->own_fd)
			close(os->fd);
		free(os);
		return err;
	}
	/* Only the buffering would suffer if this failed. */
	setvbuf(*f, NULL, _IOFBF, buf_size);
	*out = os;
	return 0;
}

__u64 outstream_dropped(const struct outstream *os)
{
	return os ? os->dropped : 0;
}

void outstream_close(struct outstream *os, FILE *f)
{
	if (f)
		fclose(f);	/* os_close() closes the descriptor */
	free(os);
}
