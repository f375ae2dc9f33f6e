/* The pcapng writer's output stage: whole blocks buffered, written by a thread of their own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pcapng_format.h"
#include "pcapng_out.h"
#include "quiet_thread.h"

struct pout_buf {
	struct pout_buf *next;
	size_t used, cap;
	uint64_t queued_ns;	/* when it was handed to the thread (CLOCK_MONOTONIC) */
	uint8_t data[];
};

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
 * Walks the blocks at base (len bytes, whole from at on, the file's bytes
 * from base_off): those the file holds whole after done bytes of base were
 * written move kept to their end; the others are counted if lost. Under mu.
 */
static void walk_kept(struct pcapng_out *o, const uint8_t *base, size_t len, size_t at,
		      uint64_t base_off, size_t done, bool lost)
{
	uint32_t blen;

	while (len - at >= PCAPNG_BLOCK_OVERHEAD) {
		memcpy(&blen, base + at + 4, sizeof(blen));
		/* Blocks built here: never short or past the buffer; stop if ever. */
		if (blen < PCAPNG_BLOCK_OVERHEAD || blen > len - at)
			break;
		if (at + blen <= done)
			o->kept = base_off + at + blen;
		else if (lost)
			count_lost(o, base + at, blen, blen);
		else
			break;	/* the rest waits for the next write */
		at += blen;
	}
}

/*
 * The first error stops the output; a file is cut back to the end of its
 * last whole block, so that tshark and tlstap -r read it to there. torn: a
 * pipe's reader got part of a block. Under mu.
 */
static void stop_output(struct pcapng_out *o, int err, bool torn)
{
	if (o->err)
		return;
	/* Read without mu by pout_err. */
	__atomic_store_n(&o->err, err, __ATOMIC_RELEASE);
	if (o->regular) {
		if (ftruncate(o->nb.fd, (off_t)o->kept))
			o->lost.torn = true;
	} else if (torn) {
		o->lost.torn = true;
	}
}

/*
 * The buffer could not be written past done bytes (0: not at all): the
 * blocks that reached the file whole stay, the others are counted. Under mu.
 */
static void fail_buffer(struct pcapng_out *o, const struct pout_buf *b, int err, size_t done)
{
	uint64_t start = o->kept;

	walk_kept(o, b->data, b->used, 0, start, done, true);
	stop_output(o, err, done > o->kept - start);
}

/* Writes b (or, after an error, counts what it held). Called without mu. */
static void write_plain(struct pcapng_out *o, struct pout_buf *b)
{
	struct iovec iov = { .iov_base = b->data, .iov_len = b->used };
	size_t done = 0;
	int err;

	pthread_mutex_lock(&o->mu);
	err = o->err;
	pthread_mutex_unlock(&o->mu);
	if (!err)
		err = nbfd_write_all(&o->nb, &iov, 1, &done);
	pthread_mutex_lock(&o->mu);
	if (err)
		fail_buffer(o, b, err, done);
	else
		o->kept += b->used;
	pthread_mutex_unlock(&o->mu);
}

/*
 * Writes the stage (its aligned part, or all when final) and settles what
 * reached the file: a block that began before the stage, then the blocks in
 * it. After an error, the rest of the stage is counted and dropped.
 */
static void stage_write(struct pcapng_out *o, bool final)
{
	struct pdio *d = &o->dio;
	uint32_t blen;
	size_t done;
	int err = pdio_write(d, &o->nb, final, &done);

	pthread_mutex_lock(&o->mu);
	if (d->first && d->first <= done) {
		o->kept = d->off + d->first;
	} else if (d->first && err && d->head_len >= 8) {
		memcpy(&blen, d->head + 4, sizeof(blen));
		count_lost(o, d->head, d->head_len, blen);
	}
	walk_kept(o, d->stage, d->len, d->first, d->off, done, err != 0);
	o->lost.direct_bytes = d->direct_bytes;
	if (err) {
		stop_output(o, err, false);
		pdio_clear(d);
	} else {
		pdio_consume(d, done);
	}
	pthread_mutex_unlock(&o->mu);
}

/*
 * b through the stage (the thread's, for a file written with O_DIRECT),
 * written once POUT_GATHER bytes wait there (the thread writes less after
 * POUT_GATHER_MS).
 */
static void write_staged(struct pcapng_out *o, struct pout_buf *b)
{
	if (!pout_err(o) && !pdio_append(&o->dio, b->data, b->used)) {
		if (o->dio.len >= POUT_GATHER)
			stage_write(o, false);
		return;
	}
	/*
	 * After an error (the stage was dropped then), write_plain counts b as
	 * lost. Without memory for a larger stage, what it holds goes first,
	 * then b and the rest through the page cache.
	 */
	if (o->dio.len && !pout_err(o))
		stage_write(o, true);
	write_plain(o, b);
}

static void write_buf(struct pcapng_out *o, struct pout_buf *b)
{
	/* Staged while O_DIRECT is on, and until a tail carried from then is out. */
	if (o->dio.on || o->dio.len)
		write_staged(o, b);
	else
		write_plain(o, b);
	b->used = 0;
}

/* CLOCK_MONOTONIC in ns, the clock of the thread's due times. */
static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * The due times of what waits in the stage, after a buffer handed over at
 * since went there (appended) or the stage was written (wrote). Under mu.
 */
static void stage_clocks(struct pcapng_out *o, bool appended, bool wrote, uint64_t since)
{
	const uint64_t show = POUT_SHOW_TAIL_SECS * 1000000000ull;

	if (!o->dio.len) {
		o->show_due = o->gather_due = 0;
		return;
	}
	if (appended)
		o->last_append = since;
	if (wrote) {
		/* Left: a tail of the newest blocks; its second runs from when
		 * they came, a new gathering from the next buffer. */
		o->gather_due = 0;
		o->show_due = o->last_append + show;
	}
	/* From the hand-over: the buffer may have waited in the queue. */
	if (appended && !o->show_due)
		o->show_due = since + show;
	if (appended && !o->gather_due)
		o->gather_due = since + POUT_GATHER_MS * 1000000ull;
}

/* When the queue's first buffer is due to go, gathering or not. Under mu, with a queue. */
static uint64_t queue_due(const struct pcapng_out *o)
{
	return o->queue->queued_ns + POUT_GATHER_MS * 1000000ull;
}

/* Blocks go through the stage (O_DIRECT is on, or a tail from then waits). The thread's. */
static bool staged(const struct pcapng_out *o)
{
	return o->dio.on || o->dio.len;
}

/*
 * Whether the thread takes queued buffers now. Staged, it lets them gather
 * until they and the stage hold POUT_GATHER bytes, the first one is
 * POUT_GATHER_MS old, or POUT_HOLD_BUFS wait, and then takes all that wait
 * at that moment: woken once per gathering rather than for every buffer
 * (a context switch costs a VM exit or two), and written in one piece. A
 * pipe, the page cache or an output stopped by an error gets each buffer
 * at once. The writing thread's, under mu.
 */
static bool queue_ready(struct pcapng_out *o)
{
	if (!o->queue)
		return false;
	if (o->take)
		return true;
	if (staged(o) && !o->err && o->nqueued < POUT_HOLD_BUFS &&
	    o->queued_bytes + o->dio.len < POUT_GATHER &&
	    now_ns() < queue_due(o))
		return false;
	o->take = o->nqueued;
	return true;
}

/*
 * With no queue ready: waits for a buffer, for the queue's or the stage's
 * next due time, and then writes the stage's aligned part (direct), or
 * shows a tail under PDIO_ALIGN through the page cache. Under mu (released
 * while writing).
 */
static void wait_or_write_stage(struct pcapng_out *o)
{
	bool full = o->dio.len >= PDIO_ALIGN;
	uint64_t due = full ? o->gather_due : 0, qdue;
	struct timespec at;

	if (o->show_due && (!due || o->show_due < due))
		due = o->show_due;
	if (o->queue) {
		qdue = queue_due(o);
		if (!due || qdue < due)
			due = qdue;
	}
	if (!due) {
		pthread_cond_wait(&o->cv, &o->mu);
		return;
	}
	at.tv_sec = (time_t)(due / 1000000000u);
	at.tv_nsec = (long)(due % 1000000000u);
	if (pthread_cond_timedwait(&o->cv, &o->mu, &at) != ETIMEDOUT || queue_ready(o) ||
	    o->quit || o->tail_req)
		return;
	o->writing = true;
	pthread_mutex_unlock(&o->mu);
	if (full)
		stage_write(o, false);
	else
		pdio_show_tail(&o->dio, o->nb.fd);
	pthread_mutex_lock(&o->mu);
	o->writing = false;
	if (!full)
		o->show_due = 0;
	stage_clocks(o, false, full, 0);
	pthread_cond_broadcast(&o->cv);
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
	uint64_t off;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (!queue_ready(o) && !o->quit && !o->tail_req)
			wait_or_write_stage(o);
		b = o->queue;
		if (!b) {
			/* Everything handed over is written: the carried tail goes too. */
			if (o->dio.len) {
				o->writing = true;
				pthread_mutex_unlock(&o->mu);
				stage_write(o, true);
				pthread_mutex_lock(&o->mu);
				o->writing = false;
			}
			o->show_due = o->gather_due = 0;
			o->take = 0;
			o->tail_req = false;
			pthread_cond_broadcast(&o->cv);
			if (o->quit)
				break;
			continue;
		}
		o->queue = b->next;
		if (!o->queue)
			o->queue_tail = &o->queue;
		o->queued_bytes -= b->used;
		o->nqueued--;
		if (o->take)
			o->take--;
		o->writing = true;
		pthread_mutex_unlock(&o->mu);
		/* The stage is the thread's: its offset moves when it is written. */
		off = o->dio.off;
		write_buf(o, b);
		pthread_mutex_lock(&o->mu);
		o->writing = false;
		stage_clocks(o, true, o->dio.off != off, b->queued_ns);
		recycle(o, b);
		pthread_cond_broadcast(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

void pout_init(struct pcapng_out *o, int fd, bool regular)
{
	pthread_condattr_t ca;

	memset(o, 0, sizeof(*o));
	nbfd_init(&o->nb, fd, NULL);
	o->regular = regular;
	o->queue_tail = &o->queue;
	pthread_mutex_init(&o->mu, NULL);
	pthread_condattr_init(&ca);
	/* The thread's quiet-second wait: not moved by changes of the date. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* The writing thread (signals are the capture's): 0 or -errno. */
static int start(struct pcapng_out *o)
{
	off_t off = o->regular ? lseek(o->nb.fd, 0, SEEK_CUR) : -1;
	const char *no_dio = getenv("TLSTAP_NO_DIRECT_IO");
	int err;

	err = quiet_thread_create(&o->thread, writer, o);
	o->started = !err;
	/* A file of ours, written by the thread alone from now on (it looks at
	 * the stage only for buffers queued after this, under mu). Without a
	 * thread, the caller writes through the page cache as before. */
	if (!err && off >= 0 && !(no_dio && *no_dio && strcmp(no_dio, "0"))) {
		/* The thread reads the stage's length under mu while it waits. */
		pthread_mutex_lock(&o->mu);
		pdio_start(&o->dio, o->nb.fd, (uint64_t)off);
		pthread_mutex_unlock(&o->mu);
	}
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
		b->next = NULL;
		b->queued_ns = now_ns();
		pthread_mutex_lock(&o->mu);
		/* The thread is woken when it has a new due time (a first buffer)
		 * or a gathering is complete (queue_ready; one the stage's own
		 * bytes complete waits for its due time, POUT_GATHER_MS at most);
		 * a buffer queued while it waits for its due time, or works,
		 * needs no call. */
		if (!o->queue || o->nqueued + 1 == POUT_HOLD_BUFS ||
		    (o->queued_bytes < POUT_GATHER && o->queued_bytes + b->used >= POUT_GATHER))
			pthread_cond_broadcast(&o->cv);
		*o->queue_tail = b;
		o->queue_tail = &b->next;
		o->queued_bytes += b->used;
		o->nqueued++;
		pthread_mutex_unlock(&o->mu);
	}
	return pout_err(o);
}

int pout_offer(struct pcapng_out *o)
{
	bool waiting;

	if (!o->started)
		return pout_flush(o);
	pthread_mutex_lock(&o->mu);
	waiting = o->queue && !o->err;
	pthread_mutex_unlock(&o->mu);
	return waiting ? 0 : pout_flush(o);
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
	if (o->started) {
		o->tail_req = true;
		pthread_cond_broadcast(&o->cv);
	}
	while (o->started && (o->queue || o->writing || o->tail_req))
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

/* Without mu: it is asked for every block the capture writes. */
int pout_err(struct pcapng_out *o)
{
	return __atomic_load_n(&o->err, __ATOMIC_ACQUIRE);
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
	pdio_free(&o->dio);
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
