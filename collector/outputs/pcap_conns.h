/* The synthetic TCP connection of each flow written to pcapng, kept in the flow's sink slot. */
#ifndef TLSTAP_PCAP_CONNS_H
#define TLSTAP_PCAP_CONNS_H

#include <stdbool.h>
#include "flows.h"
#include "dlist.h"

#define PCAP_CONNS_BUCKETS	4096

struct tcp_state {
	__u64 conn_id;
	__u64 gen;		/* file generation its handshake was written in */
	__u32 isn[2];		/* per direction (out = the traced process sends) */
	__u64 next[2];		/* stream position after the last byte written, per direction */
	__u16 family;
	__u8 laddr[16], raddr[16];
	__u16 lport, rport;
	bool known_addr;
	/* The socket's network namespace: the same addresses in two
	 * namespaces are two connections, never one seen from both ends. */
	__u32 netns;
	bool local_is_client;
	/*
	 * Both ends of a connection on this host are traced (curl and nginx):
	 * one TCP connection in the file, written from the end seen first; the
	 * other is its shadow until that one ends.
	 */
	__u64 shadow_of;
	/* private */
	struct tcp_state *master;	/* the one it shadows, while that lives */
	struct chain_link *shadows;	/* those that shadow it */
	struct chain_link shadowing;	/* among its master's shadows */
	struct chain_link indexed;	/* in the index by addresses */
	struct dlist_node all;
};

/*
 * Connections that write, with known addresses, are indexed by their
 * address pair: the other end of one is found in one bucket, not by a scan.
 */
struct pcap_conns {
	struct chain_link *by_addr[PCAP_CONNS_BUCKETS];
	struct dlist all;		/* every one, to free them */
	int slot;		/* in every flow's sink_state[] */
};

/* f's connection, made when its first chunk (in direction first_dir) is written; NULL without memory. */
struct tcp_state *pcap_conns_get(struct pcap_conns *pc, const struct flow *f, int first_dir);
/* f's connection if it has one. */
struct tcp_state *pcap_conns_find(const struct pcap_conns *pc, const struct flow *f);
/* Whether c writes its packets: not while its other end's connection does. */
bool pcap_conns_writes(struct pcap_conns *pc, struct tcp_state *c);
/* f ends: its connection is forgotten (its shadows write from now on, if they go on). */
void pcap_conns_forget(struct pcap_conns *pc, const struct flow *f);
void pcap_conns_free(struct pcap_conns *pc);

#endif
