/* pcapng writer: builds each block as an iovec list, then buffers or writes it. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pcapng.h"
#include "nbfd.h"
#include "pcapng_blk.h"
#include "pcapng_file.h"
#include "pcapng_format.h"

/* Large enough that a busy capture costs few syscalls, small enough to flush often. */
#define OUT_BUF_SIZE	(256 * 1024)

struct wr_iface {
	uint32_t snaplen;
	uint64_t recv;			/* packets written, for isb_ifrecv */
};

struct pcapng_writer {
	struct pcapng_file file;	/* "-": fd 1, which stays open */
	struct nbfd out;		/* how fd is written: never blocking for good */
	bool regular;			/* a regular file: cut back after a failed write */
	int err;			/* first I/O error, returned from then on */
	size_t used;			/* bytes in file.buf */
	uint64_t bytes;
	uint64_t kept;			/* bytes in the file as whole blocks: where the buffer starts */
	struct pcapng_unwritten lost;
	struct wr_iface *ifs;
	uint32_t nif, ifs_cap;
};

/* Option strings are bounded by the 16-bit option length. */
static int str_len(const char *s, uint16_t *len)
{
	size_t n = s ? strlen(s) : 0;

	if (n > UINT16_MAX)
		return -EINVAL;
	*len = (uint16_t)n;
	return 0;
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
		n = nbfd_writev(out, iov, cnt);	/* cnt <= BLK_MAX_IOV, far below IOV_MAX */
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

/*
 * A block that will not be in the file: counted if it is a packet. hdr holds
 * its first hdr_len bytes; an EPB starts with type, length, interface, two
 * timestamp words and caplen, and is at least 32 bytes long.
 */
static void count_lost(struct pcapng_writer *w, const uint8_t *hdr, size_t hdr_len, size_t blen)
{
	uint32_t type, caplen;

	if (hdr_len < 24 || blen < 32)
		return;
	memcpy(&type, hdr, sizeof(type));
	memcpy(&caplen, hdr + 20, sizeof(caplen));
	if (type != PCAPNG_BT_EPB)
		return;
	w->lost.packets++;
	w->lost.bytes += caplen;
}

/*
 * The first I/O error: nothing more is written. A file is cut back to the
 * end of its last complete block, so that tshark and tlstap -r read it to
 * there instead of stopping at a torn block.
 */
static void fail(struct pcapng_writer *w, int err, bool partial)
{
	w->err = err;
	w->used = 0;
	if (w->regular) {
		if (ftruncate(w->file.fd, (off_t)w->kept))
			w->lost.torn = true;
	} else if (partial) {
		w->lost.torn = true;	/* the reader of the pipe has half a block */
	}
}

/*
 * The buffer (whole blocks, in order) could not be written past done bytes:
 * the blocks that reached the file whole stay, the others are counted.
 */
static void fail_buffer(struct pcapng_writer *w, int err, size_t done)
{
	size_t off = 0, whole = 0;
	uint32_t blen;

	while (w->used - off >= PCAPNG_BLOCK_OVERHEAD) {
		memcpy(&blen, w->file.buf + off + 4, sizeof(blen));
		/* Blocks built here: never short or past the buffer; stop if ever. */
		if (blen < PCAPNG_BLOCK_OVERHEAD || blen > w->used - off)
			break;
		if (off + blen <= done)
			whole = off + blen;
		else
			count_lost(w, w->file.buf + off, blen, blen);
		off += blen;
	}
	w->kept += whole;
	fail(w, err, done > whole);
}

static int out_flush(struct pcapng_writer *w)
{
	struct iovec iov = { .iov_base = w->file.buf, .iov_len = w->used };
	size_t done;
	int err;

	if (w->err)
		return w->err;
	err = write_all(&w->out, &iov, 1, &done);
	if (err) {
		fail_buffer(w, err, done);
		return err;
	}
	w->kept += w->used;
	w->used = 0;
	return 0;
}

/* Copies the block into the buffer, or writes it straight when it is larger. */
static int emit(struct pcapng_writer *w, struct blk *b)
{
	size_t done = 0;
	int err = 0, i;

	if (b->len > OUT_BUF_SIZE - w->used)
		err = out_flush(w);
	if (!err && b->len <= OUT_BUF_SIZE) {
		for (i = 0; i < b->niov; i++) {
			memcpy(w->file.buf + w->used, b->iov[i].iov_base, b->iov[i].iov_len);
			w->used += b->iov[i].iov_len;
		}
	} else if (!err) {
		/* Larger than the buffer, which is empty: the file ends where it starts. */
		err = write_all(&w->out, b->iov, b->niov, &done);
		if (err)
			fail(w, err, done > 0);
		else
			w->kept += b->len;
	}
	if (err) {
		/* The first piece holds the fixed fields (scratch, copied contiguously). */
		count_lost(w, b->iov[0].iov_base, b->iov[0].iov_len, b->len);
		return err;
	}
	w->bytes += b->len;
	return 0;
}

/* Ends the block and hands it to the file. */
static int blk_emit(struct pcapng_writer *w, struct blk *b)
{
	int err = blk_end(b);

	return err ? err : emit(w, b);
}

/* 0 if w can take a block; the error that stopped it otherwise. */
static int usable(const struct pcapng_writer *w)
{
	return !w ? -EINVAL : w->err;
}

/*
 * How the blocks of an interface (EPB, ISB) begin: interface id and
 * timestamp, once w, the interface and the comment's length are checked.
 * Nothing is written yet: after -EINVAL the file is untouched.
 */
static int blk_begin_if(struct pcapng_writer *w, struct blk *b, uint32_t type, uint32_t if_id,
			uint64_t ts_ns, const char *comment, uint16_t *comment_len)
{
	int err = usable(w);

	if (err)
		return err;
	if (if_id >= w->nif)
		return -EINVAL;
	err = str_len(comment, comment_len);
	if (err)
		return err;
	blk_begin(b, type);
	blk_u32(b, if_id);
	blk_ts(b, ts_ns);
	return 0;
}

/* Each option takes up to three of a block's BLK_MAX_IOV pieces. */
#define SHB_MAX_COMMENTS	4

static int write_shb(struct pcapng_writer *w, const char *app_name, const char *const *comments)
{
	struct blk b;
	uint16_t len;
	int err, i;

	err = str_len(app_name, &len);
	if (err)
		return err;
	blk_begin(&b, PCAPNG_BT_SHB);
	blk_u32(&b, PCAPNG_BYTE_ORDER_MAGIC);
	blk_u16(&b, PCAPNG_VERSION_MAJOR);
	blk_u16(&b, PCAPNG_VERSION_MINOR);
	blk_u64(&b, UINT64_MAX);	/* section length unknown: we stream */
	blk_opt_ref(&b, PCAPNG_SHB_USERAPPL, app_name, len);
	for (i = 0; comments && comments[i]; i++) {
		err = i < SHB_MAX_COMMENTS ? str_len(comments[i], &len) : -EINVAL;
		if (err)
			return err;
		blk_opt_ref(&b, PCAPNG_OPT_COMMENT, comments[i], len);
	}
	return blk_emit(w, &b);
}

int pcapng_open(struct pcapng_writer **wp, const char *path, const char *app_name)
{
	return pcapng_open_section(wp, path, app_name, NULL);
}

int pcapng_open_section(struct pcapng_writer **wp, const char *path, const char *app_name,
			const char *const *comments)
{
	struct pcapng_writer *w;
	int err;

	if (!wp)
		return -EINVAL;
	*wp = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	err = pcapng_file_open(&w->file, path, STDOUT_FILENO, pcapng_file_create, OUT_BUF_SIZE);
	if (err)
		goto cleanup;
	w->regular = w->file.own_fd;
	nbfd_init(&w->out, w->file.fd, NULL);
	err = write_shb(w, app_name, comments);
	if (err)
		goto cleanup;
	*wp = w;
	return 0;

cleanup:
	nbfd_close(&w->out);
	pcapng_file_close(&w->file);
	free(w);
	return err;
}

void pcapng_set_stop(struct pcapng_writer *w, const volatile sig_atomic_t *stop)
{
	w->out.stop = stop;
}

static int grow_ifaces(struct pcapng_writer *w)
{
	struct wr_iface *n;
	uint32_t cap;

	if (w->nif < w->ifs_cap)
		return 0;
	if (w->nif >= PCAPNG_MAX_INTERFACES)
		return -ENOSPC;
	cap = w->ifs_cap ? w->ifs_cap * 2 : 8;
	n = realloc(w->ifs, (size_t)cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	w->ifs = n;
	w->ifs_cap = cap;
	return 0;
}

int pcapng_add_interface(struct pcapng_writer *w, uint16_t linktype, uint32_t snaplen,
			 const char *name, const char *description, uint32_t *if_id)
{
	static const uint8_t tsresol_ns = 9;	/* 10^-9 s */
	uint16_t name_len, desc_len;
	struct blk b;
	int err;

	if (!if_id)
		return -EINVAL;
	err = usable(w);
	if (!err)
		err = str_len(name, &name_len);
	if (!err)
		err = str_len(description, &desc_len);
	if (!err)
		err = grow_ifaces(w);
	if (err)
		return err;

	blk_begin(&b, PCAPNG_BT_IDB);
	blk_u16(&b, linktype);
	blk_u16(&b, 0);		/* reserved */
	blk_u32(&b, snaplen);
	blk_opt_ref(&b, PCAPNG_IF_NAME, name, name_len);
	blk_opt_ref(&b, PCAPNG_IF_DESCRIPTION, description, desc_len);
	blk_opt_ref(&b, PCAPNG_IF_TSRESOL, &tsresol_ns, 1);
	err = blk_emit(w, &b);
	if (err)
		return err;

	w->ifs[w->nif].snaplen = snaplen;
	w->ifs[w->nif].recv = 0;
	*if_id = w->nif++;
	return 0;
}

int pcapng_write_packet(struct pcapng_writer *w, uint32_t if_id, uint64_t ts_ns,
			const void *data, uint32_t caplen, uint32_t origlen,
			int direction, const char *comment)
{
	uint16_t comment_len;
	struct blk b;
	int err;

	err = blk_begin_if(w, &b, PCAPNG_BT_EPB, if_id, ts_ns, comment, &comment_len);
	if (err)
		return err;
	/* Checked before any length arithmetic or any read of data. */
	if (caplen > origlen || (caplen && !data) || caplen >= PCAPNG_MAX_BLOCK ||
	    (w->ifs[if_id].snaplen && caplen > w->ifs[if_id].snaplen) ||
	    direction < PCAPNG_DIR_UNKNOWN || direction > PCAPNG_DIR_OUTBOUND)
		return -EINVAL;
	blk_u32(&b, caplen);
	blk_u32(&b, origlen);
	blk_add(&b, data, caplen);
	blk_pad(&b);
	blk_opt_ref(&b, PCAPNG_OPT_COMMENT, comment, comment_len);
	if (direction != PCAPNG_DIR_UNKNOWN)
		blk_opt_u32(&b, PCAPNG_EPB_FLAGS, (uint32_t)direction);
	err = blk_emit(w, &b);
	if (err)
		return err;
	w->ifs[if_id].recv++;
	return 0;
}

int pcapng_write_stats(struct pcapng_writer *w, uint32_t if_id, uint64_t start_ns,
		       uint64_t end_ns, uint64_t ifdrop, const char *comment)
{
	uint16_t comment_len;
	struct blk b;
	int err = blk_begin_if(w, &b, PCAPNG_BT_ISB, if_id, end_ns, comment, &comment_len);

	if (!err && start_ns > end_ns)
		err = -EINVAL;
	if (err)
		return err;
	blk_opt_ref(&b, PCAPNG_OPT_COMMENT, comment, comment_len);
	blk_opt_ts(&b, PCAPNG_ISB_STARTTIME, start_ns);
	blk_opt_ts(&b, PCAPNG_ISB_ENDTIME, end_ns);
	blk_opt_u64(&b, PCAPNG_ISB_IFRECV, w->ifs[if_id].recv);
	blk_opt_u64(&b, PCAPNG_ISB_IFDROP, ifdrop);
	return blk_emit(w, &b);
}

int pcapng_flush(struct pcapng_writer *w)
{
	if (!w)
		return -EINVAL;
	return out_flush(w);
}

uint64_t pcapng_bytes_written(const struct pcapng_writer *w)
{
	return w ? w->bytes : 0;
}

void pcapng_unwritten(const struct pcapng_writer *w, struct pcapng_unwritten *u)
{
	memset(u, 0, sizeof(*u));
	if (!w)
		return;
	*u = w->lost;
	u->file_bytes = w->kept;
}

int pcapng_close(struct pcapng_writer *w)
{
	int err, e;

	if (!w)
		return 0;
	err = out_flush(w);
	nbfd_close(&w->out);
	e = pcapng_file_close(&w->file);
	/* Linux closes the fd even when close() says EINTR: nothing to retry. */
	if (!err && e != -EINTR)
		err = e;
	free(w->ifs);
	free(w);
	return err;
}
