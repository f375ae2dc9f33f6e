/* pcapng writer: builds each block as an iovec list, then buffers or writes it. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pcapng.h"
#include "nbfd.h"
#include "pcapng_out.h"
#include "pcapng_blk.h"
#include "pcapng_file.h"
#include "pcapng_format.h"

struct wr_iface {
	uint32_t snaplen;
	uint64_t recv;			/* packets written, for isb_ifrecv */
};

struct pcapng_writer {
	struct pcapng_file file;	/* "-": fd 1, which stays open */
	struct pcapng_out out;		/* buffers, and the thread that writes them */
	bool out_ready;			/* out is initialised (pout_finish owes it) */
	uint64_t bytes;			/* taken, buffered ones included */
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

/* Copies the block into the output's buffer; only a packet may be left out when the disk is behind. */
static int emit(struct pcapng_writer *w, struct blk *b)
{
	uint32_t type;
	int err;

	/* The first piece holds the fixed fields (scratch, copied contiguously). */
	memcpy(&type, b->iov[0].iov_base, sizeof(type));
	err = pout_put(&w->out, b->iov, b->niov, b->len, type == PCAPNG_BT_EPB);
	if (!err)
		w->bytes += b->len;
	return err;
}

/* Ends the block and hands it to the file. */
static int blk_emit(struct pcapng_writer *w, struct blk *b)
{
	int err = blk_end(b);

	return err ? err : emit(w, b);
}

/* 0 if w can take a block; the error that stopped it otherwise. */
static int usable(struct pcapng_writer *w)
{
	return !w ? -EINVAL : pout_err(&w->out);
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
	err = pcapng_file_open(&w->file, path, STDOUT_FILENO, pcapng_file_create, 0);
	if (err)
		goto cleanup;
	pout_init(&w->out, w->file.fd, w->file.own_fd);
	w->out_ready = true;
	err = write_shb(w, app_name, comments);
	if (err)
		goto cleanup;
	*wp = w;
	return 0;

cleanup:
	if (w->out_ready)
		pout_finish(&w->out);
	pcapng_file_close(&w->file);
	free(w);
	return err;
}

void pcapng_set_stop(struct pcapng_writer *w, const volatile sig_atomic_t *stop)
{
	w->out.nb.stop = stop;
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

/* An EPB of head (hlen bytes) then data: caplen = hlen + dlen of origlen. */
static int write_packet(struct pcapng_writer *w, uint32_t if_id, uint64_t ts_ns,
			const void *head, uint32_t hlen, const void *data, uint32_t dlen,
			uint32_t origlen, int direction, const char *comment)
{
	uint32_t caplen = hlen + dlen;
	uint16_t comment_len;
	struct blk b;
	int err = usable(w);

	/* With a writing thread the error struck at some block since the last
	 * call, unseen by the caller: this packet is counted with those lost. */
	if (err && w && w->out.threaded)
		pout_refused(&w->out, caplen);
	if (err)
		return err;
	err = blk_begin_if(w, &b, PCAPNG_BT_EPB, if_id, ts_ns, comment, &comment_len);
	if (err)
		return err;
	/* Checked before any length arithmetic or any read of data. */
	if (caplen < hlen || caplen > origlen || (hlen && !head) || (dlen && !data) ||
	    caplen >= PCAPNG_MAX_BLOCK ||
	    (w->ifs[if_id].snaplen && caplen > w->ifs[if_id].snaplen) ||
	    direction < PCAPNG_DIR_UNKNOWN || direction > PCAPNG_DIR_OUTBOUND)
		return -EINVAL;
	blk_u32(&b, caplen);
	blk_u32(&b, origlen);
	blk_add(&b, head, hlen);
	blk_add(&b, data, dlen);
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

int pcapng_write_packet(struct pcapng_writer *w, uint32_t if_id, uint64_t ts_ns,
			const void *data, uint32_t caplen, uint32_t origlen,
			int direction, const char *comment)
{
	return write_packet(w, if_id, ts_ns, data, caplen, NULL, 0, origlen, direction, comment);
}

int pcapng_write_packet2(struct pcapng_writer *w, uint32_t if_id, uint64_t ts_ns,
			 const void *head, uint32_t hlen, const void *data, uint32_t dlen,
			 int direction, const char *comment)
{
	if (dlen > UINT32_MAX - hlen)
		return -EINVAL;
	return write_packet(w, if_id, ts_ns, head, hlen, data, dlen, hlen + dlen, direction, comment);
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
	return pout_flush(&w->out);
}

int pcapng_offer(struct pcapng_writer *w)
{
	if (!w)
		return -EINVAL;
	return pout_offer(&w->out);
}

int pcapng_drain(struct pcapng_writer *w)
{
	if (!w)
		return -EINVAL;
	return pout_drain(&w->out);
}

void pcapng_write_behind(struct pcapng_writer *w)
{
	if (w)
		pout_thread(&w->out);
}

uint64_t pcapng_bytes_written(const struct pcapng_writer *w)
{
	return w ? w->bytes : 0;
}

void pcapng_unwritten(struct pcapng_writer *w, struct pcapng_unwritten *u)
{
	memset(u, 0, sizeof(*u));
	if (w)
		pout_unwritten(&w->out, u);
}

int pcapng_close(struct pcapng_writer *w)
{
	int err, e;

	if (!w)
		return 0;
	err = pout_finish(&w->out);
	e = pcapng_file_close(&w->file);
	/* Linux closes the fd even when close() says EINTR: nothing to retry. */
	if (!err && e != -EINTR)
		err = e;
	free(w->ifs);
	free(w);
	return err;
}
