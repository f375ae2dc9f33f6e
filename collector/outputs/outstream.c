/* Live output on stdout that a stop request can always get past, even when nobody reads it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include "nbfd.h"
#include "outstream.h"

struct outstream {
	struct nbfd out;
	__u64 dropped;
	char *buf;		/* stdio's buffer: freed after fclose */
};

/* stdio's write hook: all of len, or -1 with errno (EPIPE: the reader left). */
static ssize_t os_write(void *cookie, const char *buf, size_t len)
{
	struct outstream *os = cookie;
	struct iovec iov;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		/* Once dropping, keep dropping: no torn line in the middle. */
		if (os->dropped) {
			os->dropped += len - done;
			return (ssize_t)len;
		}
		iov.iov_base = (char *)buf + done;
		iov.iov_len = len - done;
		n = nbfd_writev(&os->out, &iov, 1);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (nbfd_wait(&os->out)) {
			/* The stop's grace is over: this and all that follows is dropped. */
			os->dropped += len - done;
			return (ssize_t)len;
		}
	}
	return (ssize_t)len;
}

static int os_close(void *cookie)
{
	struct outstream *os = cookie;

	nbfd_close(&os->out);
	return 0;
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
	nbfd_init(&os->out, fd, stop);
	*f = fopencookie(os, "w", io);
	if (!*f) {
		err = -errno;
		nbfd_close(&os->out);
		free(os);
		return err;
	}
	/*
	 * glibc ignores the size of a buffer it is to allocate itself (it
	 * took 8 KiB: a writev per 8 KiB of output), so it is given one.
	 * Only the buffering would suffer without it.
	 */
	os->buf = malloc(buf_size);
	if (os->buf)
		setvbuf(*f, os->buf, _IOFBF, buf_size);
	/* One thread writes it: stdio's per-call locking made every fputc of
	 * the JSON printer five times dearer on this stream than on stdout. */
	__fsetlocking(*f, FSETLOCKING_BYCALLER);
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
		fclose(f);	/* os_close() lets go of the descriptor */
	if (os)
		free(os->buf);
	free(os);
}
