/* A capture file written with O_DIRECT: whole aligned pieces from a stage, the unaligned tail carried to the next write. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pcapng_dio.h"

/* A transparent huge page on x86-64 and arm64 (4 KiB pages). */
#define STAGE_HUGE	(2u << 20)

/*
 * cap bytes (a multiple of PDIO_ALIGN) aligned to a huge page, which the
 * kernel backs with huge pages if it may (MADV_HUGEPAGE: the "madvise"
 * setting, Debian's default). Why: each direct write pins the pages it
 * reads (get_user_pages), one 4 KiB page at a time otherwise, and that walk
 * was a tenth of the collector's CPU with -w at 64 KiB responses.
 */
static void *stage_map(size_t cap)
{
	size_t len = cap + STAGE_HUGE, head;
	uint8_t *p, *a;

	if (len < cap)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + STAGE_HUGE - 1) & ~(uintptr_t)(STAGE_HUGE - 1));
	head = (size_t)(a - p);
	if (head)
		munmap(p, head);
	if (len - head > cap)
		munmap(a + cap, len - head - cap);
	/* Only advice: without it the stage works the same, in small pages. */
	madvise(a, cap, MADV_HUGEPAGE);
	return a;
}

int pdio_start(struct pdio *d, int fd, uint64_t off)
{
	int flags;

	memset(d, 0, sizeof(*d));
	d->off = off;
	if (off % PDIO_ALIGN)
		return -EINVAL;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_DIRECT))
		return -errno;
	d->on = true;
	return 0;
}

/* The file goes on through the page cache (it may end unaligned now). */
static void turn_off(struct pdio *d, int fd)
{
	int flags = fcntl(fd, F_GETFL);

	/* Should this fail, the next unaligned write says EINVAL: an error, not a loss unseen. */
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_DIRECT);
	d->on = false;
}

int pdio_append(struct pdio *d, const void *p, size_t n)
{
	size_t need = d->len + n, cap;
	void *s;

	if (need > d->cap) {
		/* Room for a full buffer of the caller's and the carried tail to
		 * start with, then doubling: gathering copies each byte once. */
		cap = d->cap * 2 > need ? d->cap * 2 : need;
		if (cap < 256 * 1024 + PDIO_ALIGN)
			cap = 256 * 1024 + PDIO_ALIGN;
		cap = (cap + PDIO_ALIGN - 1) & ~(size_t)(PDIO_ALIGN - 1);
		if (cap < need || !(s = stage_map(cap)))
			return -ENOMEM;
		if (d->len)
			memcpy(s, d->stage, d->len);
		if (d->stage)
			munmap(d->stage, d->cap);
		d->stage = s;
		d->cap = cap;
	}
	memcpy(d->stage + d->len, p, n);
	d->len = need;
	return 0;
}

int pdio_write(struct pdio *d, struct nbfd *nb, bool final, size_t *done)
{
	struct iovec iov;
	size_t n, more = 0;
	int err;

	*done = 0;
	if (final && d->on)
		turn_off(d, nb->fd);
	n = d->on ? d->len & ~(size_t)(PDIO_ALIGN - 1) : d->len;
	if (!n)
		return 0;
	iov = (struct iovec){ .iov_base = d->stage, .iov_len = n };
	err = nbfd_write_all(nb, &iov, 1, done);
	if (!err && d->on)
		d->direct_bytes += n;
	if (err == -EINVAL && d->on) {
		/* This file system takes no direct writes (or not at this offset). */
		turn_off(d, nb->fd);
		iov = (struct iovec){ .iov_base = d->stage + *done, .iov_len = d->len - *done };
		err = nbfd_write_all(nb, &iov, 1, &more);
		*done += more;
	}
	return err;
}

int pdio_show_tail(struct pdio *d, int fd)
{
	int flags = fcntl(fd, F_GETFL), err = 0;
	ssize_t n;

	if (!d->on || !d->len || flags < 0)
		return 0;
	if (fcntl(fd, F_SETFL, flags & ~O_DIRECT))
		return -errno;
	n = pwrite(fd, d->stage, d->len, (off_t)d->off);
	if (n < 0)
		err = -errno;
	/* Back to direct writes; should that fail, the next one says so. */
	fcntl(fd, F_SETFL, flags);
	return err;
}

void pdio_consume(struct pdio *d, size_t done)
{
	size_t at = d->first, rest;
	uint32_t blen;

	if (!done)
		return;
	if (done <= d->first) {
		/* Still inside the block that began before the stage. */
		d->first -= done;
	} else {
		d->head_len = 0;
		d->first = 0;
		/* Blocks built here, whole from first on; stop at anything else. */
		while (d->len - at >= 8) {
			memcpy(&blen, d->stage + at + 4, sizeof(blen));
			if (blen < 12 || blen > d->len - at)
				break;
			if (at + blen > done) {
				if (at < done) {
					d->head_len = blen < PDIO_HDR ? blen : PDIO_HDR;
					memcpy(d->head, d->stage + at, d->head_len);
					d->first = at + blen - done;
				} else {
					d->first = at - done;
				}
				break;
			}
			at += blen;
		}
	}
	rest = d->len - done;
	memmove(d->stage, d->stage + done, rest);
	d->len = rest;
	d->off += done;
}

void pdio_clear(struct pdio *d)
{
	d->off += d->len;
	d->len = 0;
	d->first = 0;
	d->head_len = 0;
}

void pdio_free(struct pdio *d)
{
	if (d->stage)
		munmap(d->stage, d->cap);
	d->stage = NULL;
	d->cap = d->len = 0;
}
