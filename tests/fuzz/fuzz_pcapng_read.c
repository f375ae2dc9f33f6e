/* libFuzzer target: hostile pcapng files through the strict reader, each packet through tcpsynth_parse_frame, each comment through the -r codec. */
#ifndef _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "pcap_comment.h"
#include "pcapng_read.h"
#include "tcpsynth.h"

/* Reads through every byte the reader hands out, so ASan sees any that it does not own. */
static uint64_t touch(const void *p, size_t n)
{
	const volatile uint8_t *b = p;
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += b[i];
	return sum;
}

static uint64_t touch_str(const char *s)
{
	return s ? touch(s, strlen(s) + 1) : 0;
}

static void touch_packet(const struct pcapng_block *b, volatile uint64_t *sink)
{
	struct tcpsynth_seg seg;
	size_t alen;

	*sink += touch(b->data, b->caplen) + b->origlen + (uint64_t)b->direction + b->ts_ns;
	if (tcpsynth_parse_frame(b->linktype, b->data, b->caplen, &seg))
		return;
	alen = seg.family == AF_INET ? 4 : 16;
	/* The parser's results must lie inside the packet it was given. */
	if ((const uint8_t *)seg.payload < b->data ||
	    (const uint8_t *)seg.payload + seg.len > b->data + b->caplen ||
	    seg.saddr < b->data || seg.saddr + alen > b->data + b->caplen ||
	    seg.daddr < b->data || seg.daddr + alen > b->data + b->caplen)
		__builtin_trap();
	*sink += touch(seg.payload, seg.len) + touch(seg.saddr, alen) + touch(seg.daddr, alen) +
		 seg.sport + seg.dport + seg.seq + seg.ack + seg.flags + seg.window;
}

/*
 * What -r reads from a comment, written again and read again, writes the
 * same comment: the codec's table reads every key it writes.
 */
static void touch_comment(const char *comment, volatile uint64_t *sink)
{
	struct tlstap_data_event ev, again;
	struct tlstap_ctrl_event ctrl;
	char first[640], second[640];

	if (!pcap_out_parse_close(comment, &ctrl))
		*sink += ctrl.type + ctrl.pid + ctrl.conn_id + ctrl.end_pos[0] + ctrl.end_pos[1];
	if (pcap_out_parse_comment(comment, &ev))
		return;
	if (pcap_out_comment(first, sizeof(first), &ev) || pcap_out_parse_comment(first, &again) ||
	    pcap_out_comment(second, sizeof(second), &again) || strcmp(first, second))
		__builtin_trap();
	*sink += touch_str(first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static volatile uint64_t sink;
	struct pcapng_reader *r = NULL;
	struct pcapng_block b;
	char path[64];
	int fd, ret;

	fd = memfd_create("fuzz-pcapng", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (pcapng_reader_open(&r, path))
		goto out;
	while ((ret = pcapng_reader_next(r, &b)) == 1) {
		sink += b.kind + b.if_id + b.linktype + b.ifdrop + b.ts_ns;
		sink += touch_str(b.if_name) + touch_str(b.if_description) + touch_str(b.comment);
		if (b.kind == PCAPNG_EPB)
			touch_packet(&b, &sink);
		else if (b.data || b.caplen)
			__builtin_trap();	/* only EPBs carry packet data */
		if (b.comment)
			touch_comment(b.comment, &sink);
	}
	/* Every failure says why; the end of a file does not. */
	if ((ret < 0) != (pcapng_reader_error(r)[0] != '\0'))
		__builtin_trap();
	pcapng_reader_close(r);
out:
	close(fd);
	return 0;
}
