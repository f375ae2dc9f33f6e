/* Synthetic TCP/IP segments: build them for pcapng output, parse them back. */
#ifndef TLSTAP_TCPSYNTH_H
#define TLSTAP_TCPSYNTH_H

#include <stddef.h>
#include <stdint.h>

/* TCP header flag bits, as on the wire. */
#define TCPSYNTH_FIN	0x01
#define TCPSYNTH_SYN	0x02
#define TCPSYNTH_RST	0x04
#define TCPSYNTH_PSH	0x08
#define TCPSYNTH_ACK	0x10

#define TCPSYNTH_IPV4_HLEN	20
#define TCPSYNTH_IPV6_HLEN	40
#define TCPSYNTH_TCP_HLEN	20	/* built segments carry no TCP options */
#define TCPSYNTH_ETH_HLEN	14

/* Largest payloads that keep the whole IP packet within 65535 bytes. */
#define TCPSYNTH_MAX_PACKET	65535
#define TCPSYNTH_MAX_PAYLOAD_V4	(TCPSYNTH_MAX_PACKET - TCPSYNTH_IPV4_HLEN - TCPSYNTH_TCP_HLEN)
#define TCPSYNTH_MAX_PAYLOAD_V6	(TCPSYNTH_MAX_PACKET - TCPSYNTH_IPV6_HLEN - TCPSYNTH_TCP_HLEN)

struct tcpsynth_seg {
	uint16_t family;		/* AF_INET or AF_INET6 */
	const uint8_t *saddr, *daddr;	/* 4 or 16 bytes, network order */
	uint16_t sport, dport;		/* host order */
	uint32_t seq, ack;
	uint8_t flags;			/* TCPSYNTH_* */
	uint16_t window;
	const void *payload;
	uint32_t len;
};

/*
 * Writes an IPv4 (TTL 64, DF, id 0) or IPv6 (hop limit 64) packet holding
 * one TCP segment with a 20-byte header, both checksums valid, into buf.
 * Returns its length, -EINVAL for a bad family, missing addresses or a
 * payload over tcpsynth_max_payload(), -ENOSPC when buflen is too small.
 */
int tcpsynth_build(uint8_t *buf, size_t buflen, const struct tcpsynth_seg *seg);

/*
 * The same packet behind an Ethernet II header (LINKTYPE_ETHERNET) with
 * locally administered addresses 02:00:00:00:00:01 -> 02:00:00:00:00:02.
 * Why: libpcap 1.10 (tcpdump) refuses a pcapng section with more than one
 * LINKTYPE_RAW interface (it compares the file's 101 with DLT_RAW, 12), but
 * reads any number of Ethernet ones. Returns the frame length or the errors
 * of tcpsynth_build().
 */
int tcpsynth_build_eth(uint8_t *buf, size_t buflen, const struct tcpsynth_seg *seg);

/*
 * The headers of that frame only (Ethernet, IP, TCP: the frame is them and
 * then seg->len bytes of seg->payload), checksums covering the payload,
 * which is read but not copied. Returns the headers' length or the errors
 * of tcpsynth_build().
 */
int tcpsynth_build_eth_headers(uint8_t *buf, size_t buflen, const struct tcpsynth_seg *seg);

/* TCPSYNTH_MAX_PAYLOAD_V4 or _V6; 0 for another family. */
size_t tcpsynth_max_payload(uint16_t family);

/*
 * Parses an IPv4 or IPv6 packet (LINKTYPE_RAW) of len bytes holding a TCP
 * segment. On success fills *out with addresses and payload pointing into
 * pkt and returns 0. Checksums are not verified: files from other tools
 * often carry offloaded ones. Returns -EINVAL for a malformed or truncated
 * packet, -EPROTONOSUPPORT for a well-formed one that is not a whole TCP
 * segment (another protocol, a fragment, an unknown IPv6 extension header).
 */
int tcpsynth_parse(const uint8_t *pkt, size_t len, struct tcpsynth_seg *out);

/*
 * tcpsynth_parse() after the link-layer header of linktype: 101 (RAW), 1
 * (ETHERNET, up to two VLAN tags), 228 (IPV4) or 229 (IPV6). Same returns;
 * -EPROTONOSUPPORT for another link type or EtherType.
 */
int tcpsynth_parse_frame(uint16_t linktype, const uint8_t *pkt, size_t len,
			 struct tcpsynth_seg *out);

#endif /* TLSTAP_TCPSYNTH_H */
