/* The pcapng writer's output stage: whole blocks buffered, written by a thread of their own. */
#ifndef TLSTAP_PCAPNG_OUT_H
#define TLSTAP_PCAPNG_OUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "nbfd.h"
#include "pcapng.h"
#include "pcapng_dio.h"

/* One buffer: blocks written whole, in order; a busy capture costs few syscalls. */
#define POUT_BUF_SIZE	(256 * 1024)
/*
 * What may wait for the disk (or the reader of a pipe) with a writing
 * thread: the capture goes on while a write stalls (writeback, a slow
 * reader), so the rings never wait on it; past these 32 MiB, packets are
 * left out and counted as the disk's.
 */
#define POUT_MAX_BUFS	128
/*
 * With O_DIRECT, blocks are gathered into writes of this size, or written
 * (their aligned part) once they have waited POUT_GATHER_MS: each write
 * costs the device a notification, under virtualisation a VM exit, and
 * the collector hands over whatever each read of the rings brought.
 */
#define POUT_GATHER	(4 * 1024 * 1024)
#define POUT_GATHER_MS	100
/* Buffers that may wait in the queue while a gathering fills: half the
 * pool, so that gathering never leaves the capture short of a buffer (the
 * collector hands one over every round, often far from full). */
#define POUT_HOLD_BUFS	(POUT_MAX_BUFS / 2)
/* Every block reaches the file within this long of being handed over (a
 * tail carried for alignment through the page cache). */
#define POUT_SHOW_TAIL_SECS	1

struct pout_buf;

struct pcapng_out {
	struct nbfd nb;		/* how the fd is written: never blocking for good */
	bool regular;		/* a regular file: cut back after a failed write */
	struct pout_buf *cur;	/* the buffer being filled (the capture's thread) */
	/* Shared with the writing thread, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool threaded;		/* pout_thread: writes go to a thread of their own */
	bool started, quit;
	bool writing;		/* the thread holds a buffer it took off the queue */
	bool tail_req;		/* pout_drain: write the carried tail too */
	/*
	 * The thread's due times, CLOCK_MONOTONIC ns, 0 for none. show_due:
	 * the stage holds blocks not yet in the file, the oldest handed over
	 * POUT_SHOW_TAIL_SECS before. gather_due: the stage has gathered since
	 * its last write; its aligned part is written then if it does not
	 * fill first.
	 */
	uint64_t show_due, gather_due;
	uint64_t last_append;	/* when the stage last took a buffer */
	/* The thread's, for a file of ours: written with O_DIRECT from a stage
	 * (TLSTAP_NO_DIRECT_IO=1 or a file system that refuses: page cache). */
	struct pdio dio;
	struct pout_buf *queue, **queue_tail, *spare;
	size_t queued_bytes;	/* held by the nqueued buffers in the queue */
	int nqueued;
	int take;		/* the thread takes this many more without waiting */
	int nbufs;
	int err;		/* the first I/O error: nothing more is written */
	uint64_t kept;		/* bytes in the file as whole blocks */
	struct pcapng_unwritten lost;
};

/* For fd (regular: a file of ours, cut back after a failed write). */
void pout_init(struct pcapng_out *o, int fd, bool regular);
/*
 * Takes one block (len bytes in niov pieces, the first holding its fixed
 * fields). An Enhanced Packet Block (droppable) is left out and counted
 * when POUT_MAX_BUFS are waiting to be written; other blocks wait for room
 * (a file must keep its interfaces). Returns 0, or the error that stopped
 * the output (the block is counted as not written).
 */
int pout_put(struct pcapng_out *o, const struct iovec *iov, int niov, size_t len, bool droppable);
/*
 * From now on, buffers are written by a thread of their own, started at the
 * first flush (without one, or if it cannot start, each buffer is written
 * when full or flushed, by the caller: errors then show at once).
 */
void pout_thread(struct pcapng_out *o);
/* Hands the buffered blocks on (to the thread, or writes them); returns the output's error, if any. */
int pout_flush(struct pcapng_out *o);
/*
 * pout_flush, unless buffers still wait in the thread's queue: the one
 * being filled then fills on and goes with a later call (fewer, fuller
 * buffers wait, and the queue's 128 hold their 32 MiB).
 */
int pout_offer(struct pcapng_out *o);
/* Hands the buffered blocks on and waits until all are written: the output's error, if any. */
int pout_drain(struct pcapng_out *o);
/* A packet of caplen bytes refused for the output's error: counted as not written. */
void pout_refused(struct pcapng_out *o, uint32_t caplen);
/* The first error of the output so far (0: none). */
int pout_err(struct pcapng_out *o);
void pout_unwritten(struct pcapng_out *o, struct pcapng_unwritten *u);
/* Writes everything taken, stops the thread, frees the buffers: 0 or the output's error. */
int pout_finish(struct pcapng_out *o);

#endif
