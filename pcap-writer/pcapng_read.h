/* Strict pcapng reader for files given to tlstap -r, which may be hostile. */
#ifndef TLSTAP_PCAPNG_READ_H
#define TLSTAP_PCAPNG_READ_H

#include <stdint.h>

struct pcapng_reader;

enum pcapng_block_kind { PCAPNG_SHB, PCAPNG_IDB, PCAPNG_EPB, PCAPNG_ISB, PCAPNG_OTHER };

/*
 * One block. Pointers stay valid until the next pcapng_reader_next() or
 * pcapng_reader_close(). Fields a block kind does not have are zero/NULL.
 */
struct pcapng_block {
	enum pcapng_block_kind kind;
	uint32_t if_id;			/* IDB: the new id; EPB/ISB: the interface */
	uint16_t linktype;		/* IDB; EPB/ISB: their interface's */
	const char *if_name, *if_description;	/* IDB: NUL-terminated copies or NULL */
	uint64_t ts_ns;			/* EPB; ISB: isb_endtime, else the block's time */
	const uint8_t *data;		/* EPB: caplen bytes inside the block */
	uint32_t caplen, origlen;	/* EPB; origlen is the file's word, unchecked */
	int direction;			/* EPB: epb_flags bits 0-1, 0 when absent */
	const char *comment;		/* first opt_comment, NUL-terminated copy, or NULL */
	uint64_t ifdrop;		/* ISB: isb_ifdrop, 0 when absent */
};

/*
 * Opens path ("-" = standard input, left open by pcapng_reader_close) for
 * reading. Nothing is read yet. Returns 0 or a negative errno.
 */
int pcapng_reader_open(struct pcapng_reader **r, const char *path);

/*
 * Reads the next block: 1 and *b filled, 0 at the end of the file (only
 * ever between two blocks, after at least one section), or a negative errno:
 * -EINVAL for malformed input, the read's errno for an I/O error. An error
 * is final: later calls return it again. Either byte order is accepted, and
 * several sections one after another (concatenated files).
 */
int pcapng_reader_next(struct pcapng_reader *r, struct pcapng_block *b);

/* Why the last call failed: "block at offset N: ...". "" when none did. */
const char *pcapng_reader_error(const struct pcapng_reader *r);

void pcapng_reader_close(struct pcapng_reader *r);

#endif /* TLSTAP_PCAPNG_READ_H */
