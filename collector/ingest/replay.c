/* Rebuilds events from the packets and comments tlstap wrote; the file is hostile input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "pcap_comment.h"
#include "pcapng_read.h"
#include "replay.h"
#include "tcpsynth.h"

/*
 * One packet is one round of the live loop's clock, read to its end:
 * everything up to it is in, so missing bytes are gaps now and what waits
 * for time order goes.
 */
static void settle(struct flow_table *ft, __u64 *round)
{
	flows_resolve(ft, *round + 1);
	flows_set_stamp(ft, ++*round);
}

static int data_packet(struct flow_table *ft, const struct pcapng_block *b,
		       struct tlstap_data_event *ev, char *err, size_t errlen)
{
	struct tcpsynth_seg seg;
	bool known = ev->addr.family != 0;
	int rc;

	rc = tcpsynth_parse_frame(b->linktype, b->data, b->caplen, &seg);
	if (rc) {
		snprintf(err, errlen, "a data packet is not a TCP segment: %s", strerror(-rc));
		return -EINVAL;
	}
	if (seg.len != ev->len) {
		snprintf(err, errlen, "a packet holds %u bytes but its comment says %u", seg.len, ev->len);
		return -EINVAL;
	}
	memcpy(ev->data, seg.payload, seg.len);
	ev->ts_ns = b->ts_ns;
	memset(&ev->addr, 0, sizeof(ev->addr));
	if (known && (seg.family == AF_INET || seg.family == AF_INET6)) {
		size_t alen = seg.family == AF_INET ? 4 : 16;
		/* out: the traced process is the source; in: the destination. */
		const uint8_t *l = ev->dir ? seg.daddr : seg.saddr, *r = ev->dir ? seg.saddr : seg.daddr;

		ev->addr.family = seg.family;
		memcpy(ev->addr.laddr, l, alen);
		memcpy(ev->addr.raddr, r, alen);
		ev->addr.lport = ev->dir ? seg.dport : seg.sport;
		ev->addr.rport = ev->dir ? seg.sport : seg.dport;
	}
	return flows_record(ft, ev, sizeof(*ev) + ev->len);
}

long replay_file(const char *path, struct flow_table *ft, char *err, size_t errlen)
{
	struct pcapng_reader *r = NULL;
	struct tlstap_data_event *ev;
	struct tlstap_ctrl_event ctrl;
	struct pcapng_block b;
	long packets = 0;
	__u64 round = 1;
	int rc;

	ev = malloc(sizeof(*ev) + TLSTAP_CHUNK_MAX);
	if (!ev)
		return -ENOMEM;
	flows_set_stamp(ft, round);
	rc = pcapng_reader_open(&r, path);
	if (rc) {
		snprintf(err, errlen, "%s", r ? pcapng_reader_error(r) : strerror(-rc));
		goto cleanup;
	}
	while ((rc = pcapng_reader_next(r, &b)) > 0) {
		if (b.kind != PCAPNG_EPB || !b.comment)
			continue;
		if (!pcap_out_parse_comment(b.comment, ev)) {
			rc = data_packet(ft, &b, ev, err, errlen);
			if (rc)
				goto cleanup;
			packets++;
			settle(ft, &round);
		} else if (!pcap_out_parse_close(b.comment, &ctrl)) {
			ctrl.ts_ns = b.ts_ns;
			flows_record(ft, &ctrl, sizeof(ctrl));
			settle(ft, &round);
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", pcapng_reader_error(r));
		goto cleanup;
	}
	rc = 0;
cleanup:
	pcapng_reader_close(r);
	free(ev);
	return rc ? rc : packets;
}
