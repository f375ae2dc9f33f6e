/* Writing to stdout (a pipe, terminal or socket) without ever blocking for good. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "nbfd.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void nbfd_init(struct nbfd *o, int fd, const volatile sig_atomic_t *stop)
{
	struct stat st, nst;
	char path[64];
	int nfd;

	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->stop = stop;
	if (fstat(fd, &st))
		return;
	if (S_ISSOCK(st.st_mode)) {
		o->sock = true;	/* sockets cannot be reopened through /proc */
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0)
		return;	/* blocking writes still end with EINTR on a signal */
	/* The same pipe or terminal, not something that replaced it meanwhile. */
	if (fstat(nfd, &nst) || nst.st_dev != st.st_dev || nst.st_ino != st.st_ino ||
	    nst.st_rdev != st.st_rdev) {
		close(nfd);
		return;
	}
	o->fd = nfd;
	o->own = true;
}

ssize_t nbfd_writev(const struct nbfd *o, const struct iovec *iov, int cnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	ssize_t n;

	if (!o->sock)
		return writev(o->fd, iov, cnt);
	n = sendmsg(o->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && errno == ENOTSOCK)
		return writev(o->fd, iov, cnt);
	return n;
}

int nbfd_wait(struct nbfd *o)
{
	struct pollfd pfd = { .fd = o->fd, .events = POLLOUT };

	for (;;) {
		if (o->stop && *o->stop) {
			if (!o->deadline_ms)
				o->deadline_ms = mono_ms() + NBFD_STOP_GRACE_MS;
			if (mono_ms() >= o->deadline_ms)
				return -ETIMEDOUT;
		}
		/* Short timeouts: a stop request is noticed within one. */
		if (poll(&pfd, 1, 50) > 0)
			return 0;
	}
}

/* Drops the first n bytes of the iovec list (and any empty pieces). */
static void iov_advance(struct iovec **iov, int *cnt, size_t n)
{
	while (*cnt && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt && n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

int nbfd_write_all(struct nbfd *out, struct iovec *iov, int cnt, size_t *done)
{
	ssize_t n;

	*done = 0;
	iov_advance(&iov, &cnt, 0);
	while (cnt) {
		n = nbfd_writev(out, iov, cnt);
		if (n < 0) {
			int err = -errno;

			if (err == -EINTR || err == -EAGAIN || err == -EWOULDBLOCK) {
				err = nbfd_wait(out);
				if (err)
					return err;
				continue;
			}
			return err;
		}
		if (n == 0)
			return -EIO;
		*done += (size_t)n;
		iov_advance(&iov, &cnt, (size_t)n);
	}
	return 0;
}

void nbfd_close(struct nbfd *o)
{
	if (o->own && o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->own = false;
}
