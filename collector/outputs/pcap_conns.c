/* Synthetic TCP connections of the -w file: addresses, sequence numbers, and which end writes. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "pcap_conns.h"

/* A bucket for the address pair (from, to) as seen by the end that sends from `from`. */
static size_t addr_bucket(__u16 family, const __u8 *laddr, __u16 lport, const __u8 *raddr,
			  __u16 rport)
{
	size_t alen = family == AF_INET ? 4 : 16, i;
	__u64 h = 0xcbf29ce484222325ull ^ family;

	for (i = 0; i < alen; i++)
		h = (h ^ laddr[i]) * 0x100000001b3ull;
	for (i = 0; i < alen; i++)
		h = (h ^ raddr[i]) * 0x100000001b3ull;
	h = (h ^ ((__u64)lport << 16 | rport)) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 52) % PCAP_CONNS_BUCKETS;
}

static void index_add(struct pcap_conns *pc, struct tcp_state *c)
{
	if (c->known_addr && !c->indexed.pprev)
		chain_add(&pc->by_addr[addr_bucket(c->family, c->laddr, c->lport, c->raddr, c->rport)],
			  &c->indexed);
}

/* Stops shadowing its master (gone, or c goes). */
static void unshadow(struct tcp_state *c)
{
	chain_del(&c->shadowing);
	c->master = NULL;
}

static void shadow(struct tcp_state *c, struct tcp_state *m)
{
	c->shadow_of = m->conn_id;
	c->master = m;
	chain_add(&m->shadows, &c->shadowing);
	chain_del(&c->indexed);
}

static void set_addrs(struct tcp_state *c, const struct flow *f)
{
	const struct tlstap_addr *a = &f->meta.addr;

	c->netns = f->meta.netns;
	if (a->family == AF_INET || a->family == AF_INET6) {
		c->family = a->family;
		memcpy(c->laddr, a->laddr, 16);
		memcpy(c->raddr, a->raddr, 16);
		c->lport = a->lport;
		c->rport = a->rport;
		c->known_addr = true;
	} else {
		/* Unknown socket: addresses from the benchmarking range 198.18.0.0/15. */
		c->family = AF_INET;
		c->laddr[0] = 198, c->laddr[1] = 18;
		c->laddr[2] = (__u8)(f->conn_id >> 8), c->laddr[3] = (__u8)f->conn_id;
		c->raddr[0] = 198, c->raddr[1] = 19;
		c->raddr[2] = (__u8)(f->conn_id >> 8), c->raddr[3] = (__u8)f->conn_id;
		c->lport = (__u16)(49152 + f->conn_id % 16384);
		c->rport = 443;
	}
}

struct tcp_state *pcap_conns_find(const struct pcap_conns *pc, const struct flow *f)
{
	return *flow_sink_state(f, pc->slot);
}

struct tcp_state *pcap_conns_get(struct pcap_conns *pc, const struct flow *f, int first_dir)
{
	struct tcp_state *c = pcap_conns_find(pc, f);

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->conn_id = f->conn_id;
	c->isn[0] = (__u32)(f->conn_id * 0x9E3779B1u) ^ 0x10000000u;
	c->isn[1] = (__u32)(f->conn_id * 0x85EBCA77u) ^ 0x20000000u;
	set_addrs(c, f);
	/*
	 * The SYN comes from the client: the side that sent the first byte
	 * (HTTP, HTTP/2 and most TLS protocols are client-first; the kernel
	 * does not say who connected).
	 */
	c->local_is_client = first_dir == TLSTAP_DIR_OUT;
	*flow_sink_state(f, pc->slot) = c;
	dlist_push_front(&pc->all, &c->all);
	index_add(pc, c);
	return c;
}

/*
 * Whether c's addresses are a loopback pair: every network namespace has
 * its own loopback, so two ends on it are one connection only within one
 * namespace. Other addresses are unique enough to pair across namespaces
 * (two containers talking over a bridge: each end in its own).
 */
static bool on_loopback(const struct tcp_state *c)
{
	static const __u8 v6_lo[16] = { [15] = 1 };
	static const __u8 v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (c->family == AF_INET)
		return c->laddr[0] == 127;
	return !memcmp(c->laddr, v6_lo, 16) ||
	       (!memcmp(c->laddr, v4_mapped, 12) && c->laddr[12] == 127);
}

/* The live connection that is c seen from its other end, if traced too. */
static struct tcp_state *mirror_of(struct pcap_conns *pc, const struct tcp_state *c)
{
	size_t alen = c->family == AF_INET ? 4 : 16;
	struct chain_link *l;
	struct tcp_state *m;

	if (!c->known_addr)
		return NULL;
	/* Its other end sends from c's remote address to c's local one. */
	l = pc->by_addr[addr_bucket(c->family, c->raddr, c->rport, c->laddr, c->lport)];
	for (; l; l = l->next)
		if ((m = container_of(l, struct tcp_state, indexed)) != c &&
		    (m->netns == c->netns || !on_loopback(c)) &&
		    m->family == c->family && m->lport == c->rport &&
		    m->rport == c->lport && !memcmp(m->laddr, c->raddr, alen) &&
		    !memcmp(m->raddr, c->laddr, alen))
			return m;
	return NULL;
}

bool pcap_conns_writes(struct pcap_conns *pc, struct tcp_state *c)
{
	struct tcp_state *m;

	if (c->shadow_of && c->master)
		return false;
	if (c->shadow_of) {
		/* Its master ended: it may write itself now. */
		c->shadow_of = 0;
		index_add(pc, c);
	}
	m = mirror_of(pc, c);
	if (m) {
		shadow(c, m);
		return false;
	}
	return true;
}

static void free_state(struct pcap_conns *pc, struct tcp_state *c)
{
	while (c->shadows)
		unshadow(container_of(c->shadows, struct tcp_state, shadowing));
	unshadow(c);
	chain_del(&c->indexed);
	dlist_unlink(&pc->all, &c->all);
	free(c);
}

void pcap_conns_forget(struct pcap_conns *pc, const struct flow *f)
{
	struct tcp_state *c = pcap_conns_find(pc, f);

	if (!c)
		return;
	*flow_sink_state(f, pc->slot) = NULL;
	free_state(pc, c);
}

void pcap_conns_free(struct pcap_conns *pc)
{
	while (pc->all.first)
		free_state(pc, container_of(pc->all.first, struct tcp_state, all));
}
