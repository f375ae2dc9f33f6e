/* Writes each flow as a TCP connection whose sequence numbers are the plaintext positions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include "wallclock.h"
#include "dlist.h"
#include "pcap_comment.h"
#include "pcap_files.h"
#include "pcap_out.h"
#include "pcap_conns.h"
#include "pcap_proc.h"
#include "pcapng.h"
#include "probe_table.h"
#include "sinks.h"
#include "tcpsynth.h"

#define NBUCKET_BITS	12
#define NBUCKETS	(1 << NBUCKET_BITS)
#define FRAME_MAX	(TCPSYNTH_ETH_HLEN + TCPSYNTH_MAX_PACKET)

/* A traced process: one pcapng interface per file. */
struct proc_if {
	struct proc_if *next;
	__u32 pid;
	__u64 gen;		/* file generation the interface was added in */
	__u32 if_id;
	__u64 gaps, lost_bytes, snap_bytes;	/* in the current file */
};

struct pcap_out {
	struct pcap_out_opts o;
	struct pcapng_writer *w;
	struct pcap_files files;
	__u64 gen;		/* bumps with every new file */
	bool ticked;		/* the capture loop has begun */
	int err;
	/* Since the first I/O error: packets that were not written, and their bytes. */
	__u64 unwritten_pkts, unwritten_bytes;
	__u64 slow_pkts, slow_bytes;	/* of those, left out while the disk was behind */
	bool torn;
	struct proc_if *procs[NBUCKETS];
	struct pcap_conns conns;	/* per flow, in its sink slot */
	uint8_t frame[FRAME_MAX];
};

static size_t bucket(__u64 key)
{
	return hash_bucket(key, NBUCKET_BITS);
}

static __u64 real_ns(const struct pcap_out *po, __u64 mono_ns)
{
	return (__u64)wallclock_ns(mono_ns, po->o.mono_to_real_ns);
}

static int open_file(struct pcap_out *po)
{
	int err = pcap_files_open(&po->files, &po->w);

	if (!err)
		po->gen++;
	return err;
}

int pcap_out_open(struct pcap_out **out, const struct pcap_out_opts *o)
{
	struct pcap_out *po = calloc(1, sizeof(*po));
	int err;

	*out = NULL;
	if (!po)
		return -ENOMEM;
	po->o = *o;
	pcap_files_init(&po->files, &po->o);
	err = open_file(po);
	if (err) {
		free(po);
		return err;
	}
	*out = po;
	return 0;
}

void pcap_out_status(const struct pcap_out *po, struct pcap_out_status *st)
{
	memset(st, 0, sizeof(*st));
	st->err = po->err == -ECANCELED ? 0 : po->err;
	st->at_open = po->files.err_at_open;
	st->file = po->files.name;
	st->unwritten_packets = po->unwritten_pkts;
	st->unwritten_bytes = po->unwritten_bytes;
	st->slow_packets = po->slow_pkts;
	st->slow_bytes = po->slow_bytes;
	st->torn = po->torn;
}

/* Loss per process goes into its interface's statistics block. */
static int write_stats(struct pcap_out *po)
{
	struct timespec ts;
	__u64 now;
	struct proc_if *p;
	char comment[160];
	size_t b;
	int err = 0, e;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	for (b = 0; b < NBUCKETS; b++) {
		for (p = po->procs[b]; p; p = p->next) {
			if (p->gen != po->gen)
				continue;
			snprintf(comment, sizeof(comment),
				 "tlstap: lost %llu bytes in %llu gaps; snaplen left out %llu bytes",
				 (unsigned long long)p->lost_bytes, (unsigned long long)p->gaps,
				 (unsigned long long)p->snap_bytes);
			e = pcapng_write_stats(po->w, p->if_id, (__u64)po->files.start * 1000000000ull, now,
					       p->gaps, comment);
			if (e && !err)
				err = e;
		}
	}
	return err;
}

/* Processes with no interface in the file being closed: not kept forever. */
static void forget_idle_procs(struct pcap_out *po)
{
	struct proc_if **pp, *p;
	size_t b;

	for (b = 0; b < NBUCKETS; b++) {
		pp = &po->procs[b];
		while ((p = *pp)) {
			if (p->gen != po->gen) {
				*pp = p->next;
				free(p);
			} else {
				pp = &p->next;
			}
		}
	}
}

static int close_file(struct pcap_out *po)
{
	struct pcapng_unwritten u;
	int err = write_stats(po), e;

	forget_idle_procs(po);
	e = pcapng_drain(po->w);
	if (!err)
		err = e;
	/* Written: nothing is left for pcapng_close to lose. */
	pcapng_unwritten(po->w, &u);
	po->unwritten_pkts += u.packets;
	po->unwritten_bytes += u.bytes;
	po->slow_pkts += u.slow_packets;
	po->slow_bytes += u.slow_bytes;
	po->torn |= u.torn;
	e = pcapng_close(po->w);
	po->w = NULL;
	return err ? err : e;
}

static int rotate(struct pcap_out *po)
{
	int err = close_file(po);

	if (!err)
		err = pcap_files_next(&po->files);
	return err ? err : open_file(po);
}

static void set_err(struct pcap_out *po, int err)
{
	if (err && !po->err)
		po->err = err;
}

int pcap_out_tick(struct pcap_out *po)
{
	if (po->err)
		return po->err;
	/* The first file opens before the probes are attached (a bad path
	 * fails at once); its -G period starts with the capture. */
	if (!po->ticked) {
		po->ticked = true;
		pcap_files_restart_clock(&po->files);
	}
	if (pcap_files_time_up(&po->files))
		set_err(po, rotate(po));
	if (!po->err && po->w)
		set_err(po, pcapng_offer(po->w));	/* kept while the thread has a queue: fuller buffers */
	return po->err;
}

int pcap_out_finish(struct pcap_out *po)
{
	if (!po)
		return 0;
	if (po->w)
		set_err(po, close_file(po));
	return po->err == -ECANCELED ? 0 : po->err;
}

int pcap_out_close(struct pcap_out *po)
{
	struct proc_if *p;
	size_t b;
	int err;

	if (!po)
		return 0;
	err = pcap_out_finish(po);
	for (b = 0; b < NBUCKETS; b++) {
		while ((p = po->procs[b])) {
			po->procs[b] = p->next;
			free(p);
		}
	}
	pcap_conns_free(&po->conns);
	free(po);
	return err;
}

static struct proc_if *proc_if_for(struct pcap_out *po, const struct flow *f)
{
	struct proc_if *p;
	char name[64], descr[600];
	size_t b = bucket(f->pid);
	int err;

	for (p = po->procs[b]; p && p->pid != f->pid; p = p->next)
		;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->pid = f->pid;
		p->next = po->procs[b];
		po->procs[b] = p;
	}
	/* After a write error nothing is added to the file: its packets are only counted. */
	if (p->gen == po->gen || po->err)
		return p;
	pcap_proc_describe(f->pid, f->meta.comm, f->meta.cgroup_id, name, sizeof(name), descr,
			   sizeof(descr));
	err = pcapng_add_interface(po->w, PCAPNG_LINKTYPE_ETHERNET, 0, name, descr, &p->if_id);
	if (err) {
		set_err(po, err);
		return p;
	}
	p->gen = po->gen;
	p->gaps = p->lost_bytes = p->snap_bytes = 0;
	return p;
}

/* One segment from the traced process (dir 0) or to it (dir 1). */
static void segment(struct pcap_out *po, struct proc_if *p, struct tcp_state *c, int dir,
		    __u8 flags, __u32 seq, __u32 ack, const void *data, __u32 len, __u64 ts_ns,
		    const char *comment)
{
	struct tcpsynth_seg s = {
		.family = c->family,
		.saddr = dir ? c->raddr : c->laddr,
		.daddr = dir ? c->laddr : c->raddr,
		.sport = dir ? c->rport : c->lport,
		.dport = dir ? c->lport : c->rport,
		.seq = seq, .ack = ack, .flags = flags, .window = 65535,
		.payload = data, .len = len,
	};
	int n;

	if (po->err == -ECANCELED)
		return;
	/* Headers only: the payload goes to the writer from where it is, one copy less. */
	n = tcpsynth_build_eth_headers(po->frame, sizeof(po->frame), &s);
	if (n < 0) {
		set_err(po, n);
		return;
	}
	/* The writer counts what it accepted and lost; this counts what it was not given. */
	if (po->err) {
		po->unwritten_pkts++;
		po->unwritten_bytes += (__u64)n + len;
		return;
	}
	set_err(po, pcapng_write_packet2(po->w, p->if_id, ts_ns, po->frame, (uint32_t)n, data, len,
					 dir ? PCAPNG_DIR_INBOUND : PCAPNG_DIR_OUTBOUND, comment));
}

/* Sequence number of byte pos of direction dir (SYN takes one). */
static __u32 seq_at(const struct tcp_state *c, int dir, __u64 pos)
{
	return c->isn[dir] + 1 + (__u32)pos;
}

/*
 * A handshake in this file before the flow's first segment in it, so each
 * file opens on its own: from the client side, with sequence numbers that
 * continue into the bytes already delivered.
 */
static void announce(struct pcap_out *po, struct proc_if *p, struct tcp_state *c,
		     const struct flow *f, __u64 ts)
{
	int cli = c->local_is_client ? 0 : 1, srv = !cli;
	char comment[96];

	if (c->gen == po->gen)
		return;
	c->gen = po->gen;
	snprintf(comment, sizeof(comment), "tlstap synthetic handshake conn=%llu",
		 (unsigned long long)f->conn_id);
	segment(po, p, c, cli, TCPSYNTH_SYN, seq_at(c, cli, c->next[cli]) - 1, 0, NULL, 0, ts, comment);
	segment(po, p, c, srv, TCPSYNTH_SYN | TCPSYNTH_ACK, seq_at(c, srv, c->next[srv]) - 1,
		seq_at(c, cli, c->next[cli]), NULL, 0, ts, NULL);
	segment(po, p, c, cli, TCPSYNTH_ACK, seq_at(c, cli, c->next[cli]),
		seq_at(c, srv, c->next[srv]), NULL, 0, ts, NULL);
}

/*
 * -C rotation. Nonzero once -G -W has written its files: nothing more goes
 * out. After a write error the packets still go through, to be counted.
 */
static int before_write(struct pcap_out *po)
{
	if (!po->err && pcap_files_full(&po->files, po->w))
		set_err(po, rotate(po));
	return po->err == -ECANCELED;
}

/*
 * The connection's first chunk in the file: the SYN comes from the side
 * that sent first (in time order, so across CPUs too), and each
 * direction's sequence numbers go on from where its bytes start.
 */
static struct tcp_state *conn_of(struct pcap_out *po, const struct flow *f,
				 const struct tlstap_data_event *ev)
{
	struct tcp_state *c = pcap_conns_find(&po->conns, f);

	if (c)
		return c;
	c = pcap_conns_get(&po->conns, f, ev->dir);
	if (!c)
		return NULL;
	c->next[ev->dir] = ev->pos;
	/* The other direction has sent nothing before this (time order), unless the
	 * flow was evicted and came back, when it goes on where it was. */
	c->next[!ev->dir] = f->resumed ? f->s[!ev->dir].next : 0;
	return c;
}

/*
 * Data in time order across both directions, as on the wire: a request is
 * written before its response even when the two came from different CPUs'
 * rings in the other order (Wireshark and -r pair them by their order in
 * the file).
 */
static bool on_timed(void *ctx, const struct flow *f, struct flow_chunk *ch)
{
	const struct tlstap_data_event *ev = &ch->ev;
	struct pcap_out *po = ctx;
	struct proc_if *p;
	struct tcp_state *c;
	char comment[640];
	__u64 ts = real_ns(po, ev->ts_ns);
	__u32 off = 0, n, max;

	if (ch->gap || before_write(po))
		return false;
	p = proc_if_for(po, f);
	c = conn_of(po, f, ev);
	if (!p || !c)
		return false;
	if (pcap_conns_writes(&po->conns, c)) {
		announce(po, p, c, f, ts);
		pcap_out_comment(comment, sizeof(comment), ev);
		/* Chunks are at most 16 KiB, within one segment; split anyway if not. */
		max = (__u32)tcpsynth_max_payload(c->family);
		for (; off < ev->len; off += n) {
			n = ev->len - off < max ? ev->len - off : max;
			segment(po, p, c, ev->dir, TCPSYNTH_ACK | TCPSYNTH_PSH,
				seq_at(c, ev->dir, ev->pos + off), seq_at(c, !ev->dir, c->next[!ev->dir]),
				ev->data + off, n, ts, off ? NULL : comment);
		}
	}
	/* A shadow too: if its other end stops first, it goes on from here. */
	if (ev->pos + ev->len > c->next[ev->dir])
		c->next[ev->dir] = ev->pos + ev->len;
	return false;
}

/* Every chunk with bytes, again in time order; gaps only count (below). */
static unsigned admit(void *ctx, const struct flow *f, int dir, const struct tlstap_data_event *ev)
{
	(void)ctx, (void)f, (void)dir;
	return ev != NULL;
}

static void on_gap(void *ctx, const struct flow *f, int dir, __u64 pos, __u64 len,
		   enum gap_reason why)
{
	struct pcap_out *po = ctx;
	struct proc_if *p;

	/* Nothing to write: the next segment's sequence number jumps. */
	p = po->err ? NULL : proc_if_for(po, f);
	if (!p)
		return;
	if (why == GAP_SNAPLEN) {
		p->snap_bytes += len;
	} else {
		p->gaps++;
		p->lost_bytes += len;
	}
}

/* What -r reads back from a FIN: where both streams ended, and why (close or exit). */
static void close_comment(char *buf, size_t len, const struct flow *f, enum close_reason why)
{
	struct tlstap_ctrl_event end = {
		.type = why == CLOSE_EXIT ? TLSTAP_EV_EXIT : TLSTAP_EV_CLOSE,
		.pid = f->pid,
		.conn_id = f->conn_id,
		.end_pos = { f->s[0].next, f->s[1].next },
		.cgroup_id = f->meta.cgroup_id,
		.netns = f->meta.netns,
	};

	pcap_out_close_comment(buf, len, &end);
}

static void on_close(void *ctx, const struct flow *f, enum close_reason why)
{
	struct pcap_out *po = ctx;
	struct proc_if *p;
	struct tcp_state *c;
	char comment[160];
	struct timespec now;
	__u64 ts;
	int cli;

	clock_gettime(CLOCK_REALTIME, &now);
	ts = (__u64)now.tv_sec * 1000000000ull + (__u64)now.tv_nsec;
	if (!before_write(po)) {
		p = proc_if_for(po, f);
		c = pcap_conns_find(&po->conns, f);
		/* A rotation just now: the new file needs the connection before its FIN. */
		if (p && c && c->gen && c->gen != po->gen && !c->shadow_of &&
		    (why == CLOSE_FD || why == CLOSE_EXIT))
			announce(po, p, c, f, ts);
		/* Still open when tlstap stopped (or evicted): no FIN, nothing ended. */
		if (p && c && c->gen == po->gen && !c->shadow_of && (why == CLOSE_FD || why == CLOSE_EXIT)) {
			cli = c->local_is_client ? 0 : 1;
			close_comment(comment, sizeof(comment), f, why);
			segment(po, p, c, cli, TCPSYNTH_FIN | TCPSYNTH_ACK, seq_at(c, cli, f->s[cli].next),
				seq_at(c, !cli, f->s[!cli].next), NULL, 0, ts, comment);
			segment(po, p, c, !cli, TCPSYNTH_FIN | TCPSYNTH_ACK,
				seq_at(c, !cli, f->s[!cli].next), seq_at(c, cli, f->s[cli].next) + 1,
				NULL, 0, ts, NULL);
			segment(po, p, c, cli, TCPSYNTH_ACK, seq_at(c, cli, f->s[cli].next) + 1,
				seq_at(c, !cli, f->s[!cli].next) + 1, NULL, 0, ts, NULL);
		}
	}
	pcap_conns_forget(&po->conns, f);
}

int pcap_out_attach(struct pcap_out *po, struct sinks *s)
{
	return sinks_add(s, &pcap_out_callbacks, po, &po->conns.slot);
}

const struct flow_callbacks pcap_out_callbacks = {
	.admit = admit,
	.on_timed = on_timed,
	.on_gap = on_gap,
	.on_close = on_close,
};
