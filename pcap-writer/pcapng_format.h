/* pcapng block and option codes and limits shared by the writer and the reader. */
#ifndef TLSTAP_PCAPNG_FORMAT_H
#define TLSTAP_PCAPNG_FORMAT_H

#include <stddef.h>

/*
 * Numbers from the pcapng specification (draft-ietf-opsawg-pcapng). Only the
 * writer and the reader include this file; callers see pcapng.h and
 * pcapng_read.h.
 */

#define PCAPNG_BT_SHB		0x0A0D0D0Au
#define PCAPNG_BT_IDB		0x00000001u
#define PCAPNG_BT_SPB		0x00000003u
#define PCAPNG_BT_ISB		0x00000005u
#define PCAPNG_BT_EPB		0x00000006u

#define PCAPNG_BYTE_ORDER_MAGIC	0x1A2B3C4Du
#define PCAPNG_VERSION_MAJOR	1
#define PCAPNG_VERSION_MINOR	0

/* Options valid in every block. */
#define PCAPNG_OPT_ENDOFOPT	0
#define PCAPNG_OPT_COMMENT	1

#define PCAPNG_SHB_USERAPPL	4

#define PCAPNG_IF_NAME		2
#define PCAPNG_IF_DESCRIPTION	3
#define PCAPNG_IF_TSRESOL	9
#define PCAPNG_IF_TSOFFSET	14

#define PCAPNG_EPB_FLAGS	2

#define PCAPNG_ISB_STARTTIME	2
#define PCAPNG_ISB_ENDTIME	3
#define PCAPNG_ISB_IFRECV	4
#define PCAPNG_ISB_IFDROP	5

/* Block header (type, total length) and trailer (total length again). */
#define PCAPNG_BLOCK_OVERHEAD	12u

/*
 * Largest block either side accepts. libpcap reads blocks up to 16 MiB
 * whatever the link type; the writer stays strictly below so that what it
 * writes is always readable, and the reader never allocates more for one
 * block of a hostile file.
 */
#define PCAPNG_MAX_BLOCK	(16u * 1024 * 1024)

/*
 * Interfaces per section. Bounds the reader's table for hostile input (an IDB
 * is 20 bytes, so a file could otherwise declare hundreds of millions) and
 * the writer's, so it never writes what the reader refuses.
 */
#define PCAPNG_MAX_INTERFACES	(1u << 20)

/* Bytes of padding after n bytes: blocks and option values end on 4-byte boundaries. */
static inline size_t pcapng_pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

#endif /* TLSTAP_PCAPNG_FORMAT_H */
