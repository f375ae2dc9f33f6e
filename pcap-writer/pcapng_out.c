/* The pcapng writer's output stage: whole blocks buffered, written by a thread of their own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pcapng_format.h"
#include "pcapng_out.h"
#include "quiet_thread.h"

struct pout_buf {
	struct pout_buf *next;
	size_t used, cap;
	uint8_t data[];
};

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

/*
 * Writes everything or fails: short writes and EINTR (signals during a big
 * write to a pipe) continue where they stopped; a slow reader of stdout is
 * waited for, but after a stop request only for the grace period
 * (-ETIMEDOUT). *done counts the bytes written, also on error.
 */
static int write_all(struct nbfd *out, struct iovec *iov, int cnt, size_t *done)
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

/* Caplen of the block at hdr if it is a packet (hdr_len bytes, blen in all), else -1. */
static int64_t packet_caplen(const uint8_t *hdr, size_t hdr_len, size_t blen)
{
	uint32_t type, caplen;

	/* An EPB starts with type, length, interface, two timestamp words and caplen. */
	if (hdr_len < 24 || blen < 32)
		return -1;
	memcpy(&type, hdr, sizeof(type));
	memcpy(&caplen, hdr + 20, sizeof(caplen));
	return type == PCAPNG_BT_EPB ? (int64_t)caplen : -1;
}

/* A block that will not be in the file: counted if it is a packet. Under mu. */
static void count_lost(struct pcapng_out *o, const uint8_t *hdr, size_t hdr_len, size_t blen)
{
	int64_t caplen = packet_caplen(hdr, hdr_len, blen);

	if (caplen < 0)
		return;
	o->lost.packets++;
	o->lost.bytes += (uint64_t)caplen;
}

/*
 * The buffer could not be written past done bytes (0: not at all): the
 * blocks that reached the file whole stay, the others are counted. The
 * first error stops the output; a file is cut back to the end of its last
 * whole block, so that tshark and tlstap -r read it to there. Under mu.
 */
static void fail_buffer(struct pcapng_out *o, const struct pout_buf *b, int err, size_t done)
{
	size_t off = 0, whole = 0;
	uint32_t blen;

	while (b->used - off >= PCAPNG_BLOCK_OVERHEAD) {
		memcpy(&blen, b->data + off + 4, sizeof(blen));
		/* Blocks built here: never short or past the buffer; stop if ever. */
		if (blen < PCAPNG_BLOCK_OVERHEAD || blen > b->used - off)
			break;
		if (off + blen <= done)
			whole = off + blen;
		else
			count_lost(o, b->data + off, blen, blen);
		off += blen;
	}
	o->kept += whole;
	if (o->err)
		return;
	o->err = err;
	if (o->regular) {
		if (ftruncate(o->nb.fd, (off_t)o->kept))
			o->lost.torn = true;
	} else if (done > whole) {
		o->lost.torn = true;	/* the reader of the pipe has half a block */
	}
}

/* Writes b (or, after an error, counts what it held). Called without mu. */
static void write_buf(struct pcapng_out *o, struct pout_buf *b)
{
	struct iovec iov = { .iov_base = b->data, .iov_len = b->used };
	size_t done = 0;
	int err;

	pthread_mutex_lock(&o->mu);
	err = o->err;
	pthread_mutex_unlock(&o->mu);
	if (!err)
		err = write_all(&o->nb, &iov, 1, &done);
	pthread_mutex_lock(&o->mu);
	if (err)
		fail_buffer(o, b, err, done);
	else
		o->kept += b->used;
	pthread_mutex_unlock(&o->mu);
	b->used = 0;
}

/* A written buffer back to the spares (one larger than usual is freed). Under mu. */
static void recycle(struct pcapng_out *o, struct pout_buf *b)
{
	if (b->cap > POUT_BUF_SIZE) {
		free(b);
		return;
	}
	b->next = o->spare;
	o->spare = b;
}

static void *writer(void *arg)
{
	struct pcapng_out *o = arg;
	struct pout_buf *b;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (!o->queue && !o->quit)
			pthread_cond_wait(&o->cv, &o->mu);
		b = o->queue;
		if (!b)
			break;
		o->queue = b->next;
		if (!o->queue)
			o->queue_tail = &o->queue;
		o->writing = true;
		pthread_mutex_unlock(&o->mu);
		write_buf(o, b);
		pthread_mutex_lock(&o->mu);
		o->writing = false;
		recycle(o, b);
		pthread_cond_broadcast(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

void pout_init(struct pcapng_out *o, int fd, bool regular)
{
	memset(o, 0, sizeof(*o));
	nbfd_init(&o->nb, fd, NULL);
	o->regular = regular;
	o->queue_tail = &o->queue;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
}

/* The writing thread (signals are the capture's): 0 or -errno. */
static int start(struct pcapng_out *o)
{
	int err = quiet_thread_create(&o->thread, writer, o);

	o->started = !err;
	return err;
}

void pout_thread(struct pcapng_out *o)
{
	o->threaded = true;
}

int pout_flush(struct pcapng_out *o)
{
	struct pout_buf *b = o->cur;

	if (b && b->used && !o->started && (!o->threaded || start(o))) {
		/* No thread: written here and now, as before there were threads. */
		write_buf(o, b);
	} else if (b && b->used) {
		o->cur = NULL;
		pthread_mutex_lock(&o->mu);
		b->next = NULL;
		*o->queue_tail = b;
		o->queue_tail = &b->next;
		pthread_cond_broadcast(&o->cv);
		pthread_mutex_unlock(&o->mu);
	}
	return pout_err(o);
}

/*
 * o->cur with room for need bytes: 0, -EAGAIN when every buffer waits for
 * the disk and the block may be left out, -ENOMEM, or the output's error.
 */
static int get_buf(struct pcapng_out *o, size_t need, bool droppable)
{
	size_t cap = need > POUT_BUF_SIZE ? need : POUT_BUF_SIZE;
	struct pout_buf *b = NULL;
	int err = 0;

	pthread_mutex_lock(&o->mu);
	while (!b && !err) {
		if (o->err) {
			err = o->err;
		} else if (o->spare && need <= POUT_BUF_SIZE) {
			b = o->spare;
			o->spare = b->next;
		} else if (o->nbufs < POUT_MAX_BUFS || cap > POUT_BUF_SIZE) {
			b = malloc(sizeof(*b) + cap);
			if (!b)
				err = -ENOMEM;
			else if ((b->cap = cap) == POUT_BUF_SIZE)
				o->nbufs++;
		} else if (droppable || !o->started) {
			err = -EAGAIN;	/* all in the queue: the disk is behind */
		} else {
			pthread_cond_wait(&o->cv, &o->mu);	/* the thread frees one */
		}
	}
	pthread_mutex_unlock(&o->mu);
	if (b) {
		b->used = 0;
		o->cur = b;
	}
	return err;
}

int pout_put(struct pcapng_out *o, const struct iovec *iov, int niov, size_t len, bool droppable)
{
	int err = pout_err(o), i;
	int64_t caplen;

	if (!err && (!o->cur || len > o->cur->cap - o->cur->used)) {
		err = pout_flush(o);
		/* Written here (no thread) and still too small: a block larger than a buffer. */
		if (!err && o->cur && len > o->cur->cap) {
			pthread_mutex_lock(&o->mu);
			o->nbufs -= o->cur->cap == POUT_BUF_SIZE;
			pthread_mutex_unlock(&o->mu);
			free(o->cur);
			o->cur = NULL;
		}
		if (!err && !o->cur)
			err = get_buf(o, len, droppable);
	}
	if (err) {
		caplen = packet_caplen(iov[0].iov_base, iov[0].iov_len, len);
		pthread_mutex_lock(&o->mu);
		count_lost(o, iov[0].iov_base, iov[0].iov_len, len);
		if (err == -EAGAIN && caplen >= 0) {
			/* Left out while the disk catches up: the file goes on after it. */
			o->lost.slow_packets++;
			o->lost.slow_bytes += (uint64_t)caplen;
			err = 0;
		}
		pthread_mutex_unlock(&o->mu);
		return err;
	}
	for (i = 0; i < niov; i++) {
		memcpy(o->cur->data + o->cur->used, iov[i].iov_base, iov[i].iov_len);
		o->cur->used += iov[i].iov_len;
	}
	/* Without a thread, a block larger than a buffer is written at once. */
	if (o->cur->cap > POUT_BUF_SIZE && !o->threaded)
		return pout_flush(o);
	return 0;
}

int pout_drain(struct pcapng_out *o)
{
	int err = pout_flush(o);

	pthread_mutex_lock(&o->mu);
	while (o->started && (o->queue || o->writing))
		pthread_cond_wait(&o->cv, &o->mu);
	err = o->err;
	pthread_mutex_unlock(&o->mu);
	return err;
}

void pout_refused(struct pcapng_out *o, uint32_t caplen)
{
	pthread_mutex_lock(&o->mu);
	o->lost.packets++;
	o->lost.bytes += caplen;
	pthread_mutex_unlock(&o->mu);
}

int pout_err(struct pcapng_out *o)
{
	int err;

	pthread_mutex_lock(&o->mu);
	err = o->err;
	pthread_mutex_unlock(&o->mu);
	return err;
}

void pout_unwritten(struct pcapng_out *o, struct pcapng_unwritten *u)
{
	pthread_mutex_lock(&o->mu);
	*u = o->lost;
	u->file_bytes = o->kept;
	pthread_mutex_unlock(&o->mu);
}

int pout_finish(struct pcapng_out *o)
{
	struct pout_buf *b;
	int err;

	pout_flush(o);
	if (o->started) {
		pthread_mutex_lock(&o->mu);
		o->quit = true;
		pthread_cond_broadcast(&o->cv);
		pthread_mutex_unlock(&o->mu);
		pthread_join(o->thread, NULL);
		o->started = false;
	}
	err = pout_err(o);
	free(o->cur);
	o->cur = NULL;
	while ((b = o->spare)) {
		o->spare = b->next;
		free(b);
	}
	nbfd_close(&o->nb);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	return err;
}
