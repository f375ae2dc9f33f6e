/* Writes each flow as a TCP connection whose sequence numbers are the plaintext positions. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "wallclock.h"
#include "pcap_out.h"
#include "pcapng.h"
#include "probe_table.h"
#include "tcpsynth.h"

#ifndef TLSTAP_VERSION
#define TLSTAP_VERSION "0.1.0"
#endif

#define NBUCKETS	4096
#define FRAME_MAX	(TCPSYNTH_ETH_HLEN + TCPSYNTH_MAX_PACKET)

/* A traced process: one pcapng interface per file. */
struct proc_if {
	struct proc_if *next;
	__u32 pid;
	__u64 gen;		/* file generation the interface was added in */
	__u32 if_id;
	__u64 gaps, lost_bytes, snap_bytes;	/* in the current file */
};

/* A flow's synthetic TCP connection. */
struct tcp_state {
	struct tcp_state *next;
	__u64 conn_id;
	__u64 gen;		/* file generation its handshake was written in */
	__u32 isn[2];		/* per direction (out = the traced process sends) */
	__u16 family;
	__u8 laddr[16], raddr[16];
	__u16 lport, rport;
	bool known_addr;
	bool local_is_client;
	/*
	 * Both ends of a connection on this host are traced (curl and nginx):
	 * one TCP connection in the file, written from the end seen first; the
	 * other is its shadow until that one ends.
	 */
	__u64 shadow_of;
};

struct pcap_out {
	struct pcap_out_opts o;
	struct pcapng_writer *w;
	__u64 gen;		/* bumps with every new file */
	unsigned int file_index;
	time_t file_start;
	int err;
	bool err_at_open;	/* err came from opening name */
	char name[4200];	/* the file being (or last) opened */
	char last_base[4096];	/* -G: the name before numbering, of the last file */
	unsigned int repeat;	/* -G: how many files in a row had that name */
	/* Since the first I/O error: packets that were not written, and their bytes. */
	__u64 unwritten_pkts, unwritten_bytes;
	bool torn;
	struct proc_if *procs[NBUCKETS];
	struct tcp_state *conns[NBUCKETS];
	uint8_t frame[FRAME_MAX];
};

static size_t bucket(__u64 key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 52) % NBUCKETS;
}

static __u64 real_ns(const struct pcap_out *po, __u64 mono_ns)
{
	return (__u64)wallclock_ns(mono_ns, po->o.mono_to_real_ns);
}

static int file_name(struct pcap_out *po, char *name, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);
	char base[4096];
	int width = 1;
	unsigned int w;

	if (!strcmp(po->o.path, "-"))
		return snprintf(name, len, "-") < (int)len ? 0 : -ENAMETOOLONG;
	localtime_r(&now, &tm);
	if (po->o.rotate_secs && strchr(po->o.path, '%')) {
		if (!strftime(base, sizeof(base), po->o.path, &tm))
			return -ENAMETOOLONG;
	} else if (snprintf(base, sizeof(base), "%s", po->o.path) >= (int)sizeof(base)) {
		return -ENAMETOOLONG;
	}
	/*
	 * -G alone: a name that did not change since the last file (no pattern,
	 * or one coarser than the interval) gets a number, FILE, FILE.1, FILE.2...
	 * tcpdump would reopen and so destroy the file just written. The dot
	 * keeps numbered names apart from what the pattern makes later (an
	 * unpadded %-H: "cap-1" numbered must not become hour 11's "cap-11").
	 */
	if (!po->o.rotate_bytes && po->o.rotate_secs) {
		if (po->file_index && !strcmp(base, po->last_base)) {
			po->repeat++;
		} else {
			po->repeat = 0;
			memcpy(po->last_base, base, sizeof(base));
		}
		if (po->repeat)
			return snprintf(name, len, "%s.%u", base, po->repeat) < (int)len ? 0 : -ENAMETOOLONG;
	}
	if (!po->o.rotate_bytes)
		return snprintf(name, len, "%s", base) < (int)len ? 0 : -ENAMETOOLONG;
	/* -C: like tcpdump, the first file has the name, the next ones a number. */
	if (po->file_index == 0)
		return snprintf(name, len, "%s", base) < (int)len ? 0 : -ENAMETOOLONG;
	for (w = po->o.max_files; w >= 10; w /= 10)
		width++;
	return snprintf(name, len, "%s%0*u", base, po->o.max_files ? width : 1, po->file_index) <
	       (int)len ? 0 : -ENAMETOOLONG;
}

static int open_file(struct pcap_out *po)
{
	int err = file_name(po, po->name, sizeof(po->name));

	if (!err)
		err = pcapng_open(&po->w, po->name, "tlstap " TLSTAP_VERSION);
	if (err) {
		po->err_at_open = true;
		return err;
	}
	pcapng_set_stop(po->w, po->o.stop);
	po->gen++;
	po->file_start = time(NULL);
	return 0;
}

int pcap_out_open(struct pcap_out **out, const struct pcap_out_opts *o)
{
	struct pcap_out *po = calloc(1, sizeof(*po));
	int err;

	*out = NULL;
	if (!po)
		return -ENOMEM;
	po->o = *o;
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
	st->at_open = po->err_at_open;
	st->file = po->name;
	st->unwritten_packets = po->unwritten_pkts;
	st->unwritten_bytes = po->unwritten_bytes;
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
			e = pcapng_write_stats(po->w, p->if_id, (__u64)po->file_start * 1000000000ull, now,
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
	e = pcapng_flush(po->w);
	if (!err)
		err = e;
	/* Flushed: nothing is left for pcapng_close to lose. */
	pcapng_unwritten(po->w, &u);
	po->unwritten_pkts += u.packets;
	po->unwritten_bytes += u.bytes;
	po->torn |= u.torn;
	e = pcapng_close(po->w);
	po->w = NULL;
	return err ? err : e;
}

static int rotate(struct pcap_out *po)
{
	int err = close_file(po);

	if (err)
		return err;
	po->file_index++;
	if (po->o.rotate_bytes && po->o.max_files)
		po->file_index %= po->o.max_files;
	if (po->o.rotate_secs && !po->o.rotate_bytes && po->o.max_files &&
	    po->file_index >= po->o.max_files)
		return -ECANCELED;	/* tcpdump -G -W: stop after that many files */
	return open_file(po);
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
	if (po->o.rotate_secs && time(NULL) - po->file_start >= (time_t)po->o.rotate_secs)
		set_err(po, rotate(po));
	if (!po->err && po->w)
		set_err(po, pcapng_flush(po->w));
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
	struct tcp_state *c;
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
		while ((c = po->conns[b])) {
			po->conns[b] = c->next;
			free(c);
		}
	}
	free(po);
	return err;
}

/* Bytes that are not [A-Za-z0-9._/-] as %XX: comments stay ASCII and parseable. */
static size_t pct_encode(char *out, size_t len, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, i;
	unsigned char c;

	for (i = 0; i < n && s[i]; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == '/') {
			if (o + 1 >= len)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= len)
				break;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (len)
		out[o < len ? o : len - 1] = '\0';
	return o;
}

int pcap_out_comment(char *buf, size_t len, const struct tlstap_data_event *ev)
{
	char comm[3 * TLSTAP_COMM_LEN + 1];

	pct_encode(comm, sizeof(comm), ev->comm, TLSTAP_COMM_LEN);
	return snprintf(buf, len,
			"tlstap data pid=%u tid=%u uid=%u comm=%s lib=%s func=%s conn=%llu fd=%d "
			"dir=%s pos=%llu len=%u lost=%llu skipped=%llu addr=%s",
			ev->pid, ev->tid, ev->uid, comm, probe_func_lib_name(ev->func_id),
			probe_func_name(ev->func_id), (unsigned long long)ev->conn_id, ev->fd,
			ev->dir ? "in" : "out", (unsigned long long)ev->pos, ev->len,
			(unsigned long long)ev->lost, (unsigned long long)ev->skipped,
			ev->addr.family == AF_INET || ev->addr.family == AF_INET6 ? "known" : "unknown")
	       < (int)len ? 0 : -ENOSPC;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The value of key in a "k=v k=v" comment, decoded into out. */
static int comment_value(const char *comment, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key), o = 0;
	const char *p = comment;
	int hi, lo;

	while ((p = strstr(p, key))) {
		if ((p == comment || p[-1] == ' ') && p[klen] == '=')
			break;
		p += klen;
	}
	if (!p || !len)
		return -EINVAL;
	for (p += klen + 1; *p && *p != ' '; p++) {
		if (o + 1 >= len)
			return -EINVAL;
		if (*p == '%') {
			hi = hexval(p[1]);
			lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0)
				return -EINVAL;
			out[o++] = (char)(hi << 4 | lo);
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return 0;
}

static int comment_u64(const char *comment, const char *key, unsigned long long max,
		       unsigned long long *v)
{
	char buf[32], *end;

	if (comment_value(comment, key, buf, sizeof(buf)) || !buf[0])
		return -EINVAL;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return errno || *end || *v > max || buf[0] == '-' ? -EINVAL : 0;
}

int pcap_out_parse_close(const char *comment, struct tlstap_ctrl_event *ev)
{
	unsigned long long v;
	char reason[16];

	if (strncmp(comment, "tlstap close ", 13))
		return -EINVAL;
	memset(ev, 0, sizeof(*ev));
	if (comment_value(comment, "reason", reason, sizeof(reason)))
		return -EINVAL;
	ev->type = !strcmp(reason, "exit") ? TLSTAP_EV_EXIT : TLSTAP_EV_CLOSE;
	if (comment_u64(comment, "conn", UINT64_MAX, &v))
		return -EINVAL;
	ev->conn_id = v;
	if (comment_u64(comment, "pid", UINT32_MAX, &v))
		return -EINVAL;
	ev->pid = (__u32)v;
	if (comment_u64(comment, "out", 1ull << 62, &v))
		return -EINVAL;
	ev->end_pos[0] = v;
	if (comment_u64(comment, "in", 1ull << 62, &v))
		return -EINVAL;
	ev->end_pos[1] = v;
	return 0;
}

int pcap_out_parse_comment(const char *comment, struct tlstap_data_event *ev)
{
	unsigned long long v;
	char buf[64];

	if (strncmp(comment, "tlstap data ", 12))
		return -EINVAL;
	memset(ev, 0, sizeof(*ev));
	ev->type = TLSTAP_EV_DATA;
	if (comment_u64(comment, "pid", UINT32_MAX, &v))
		return -EINVAL;
	ev->pid = (__u32)v;
	if (comment_u64(comment, "tid", UINT32_MAX, &v))
		return -EINVAL;
	ev->tid = (__u32)v;
	if (comment_u64(comment, "uid", UINT32_MAX, &v))
		return -EINVAL;
	ev->uid = (__u32)v;
	if (comment_u64(comment, "conn", UINT64_MAX, &v))
		return -EINVAL;
	ev->conn_id = v;
	if (comment_u64(comment, "pos", 1ull << 62, &v))
		return -EINVAL;
	ev->pos = v;
	if (comment_u64(comment, "len", TLSTAP_CHUNK_MAX, &v))
		return -EINVAL;
	ev->len = (__u32)v;
	if (comment_u64(comment, "lost", 1ull << 60, &v))
		return -EINVAL;
	ev->lost = v;
	if (comment_u64(comment, "skipped", 1ull << 60, &v))
		return -EINVAL;
	ev->skipped = v;
	if (comment_value(comment, "fd", buf, sizeof(buf)))
		return -EINVAL;
	ev->fd = (__s32)strtol(buf, NULL, 10);
	if (comment_value(comment, "comm", buf, sizeof(buf)))
		return -EINVAL;
	/* comm is 16 bytes, NUL-padded, not always NUL-terminated (as the kernel's). */
	memset(ev->comm, 0, sizeof(ev->comm));
	memcpy(ev->comm, buf, strnlen(buf, sizeof(ev->comm)));
	if (comment_value(comment, "dir", buf, sizeof(buf)) || (strcmp(buf, "in") && strcmp(buf, "out")))
		return -EINVAL;
	ev->dir = !strcmp(buf, "in");
	/* The library is the function's (func_id names both): lib= is only checked. */
	if (comment_value(comment, "lib", buf, sizeof(buf)))
		return -EINVAL;
	if (comment_value(comment, "func", buf, sizeof(buf)))
		return -EINVAL;
	ev->func_id = probe_func_id_by_name(buf);
	if (comment_value(comment, "addr", buf, sizeof(buf)))
		return -EINVAL;
	ev->addr.family = !strcmp(buf, "known") ? 1 : 0;	/* the caller fills it from the packet */
	return 0;
}

static struct proc_if *proc_if_for(struct pcap_out *po, const struct flow *f)
{
	struct proc_if *p;
	char name[64], descr[600], exe[256], path[64], comm[TLSTAP_COMM_LEN * 3 + 1];
	ssize_t n;
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
	pct_encode(comm, sizeof(comm), f->meta.comm, TLSTAP_COMM_LEN);
	snprintf(name, sizeof(name), "%s[%u]", comm, f->pid);
	snprintf(path, sizeof(path), "/proc/%u/exe", f->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	{
		char cmdline[400] = "", raw[400];
		int fd;
		ssize_t r = -1, i;

		snprintf(path, sizeof(path), "/proc/%u/cmdline", f->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			r = read(fd, raw, sizeof(raw) - 1);
			close(fd);
		}
		for (i = 0; i < r; i++)
			raw[i] = raw[i] ? raw[i] : ' ';
		if (r > 0) {
			raw[r] = '\0';
			pct_encode(cmdline, sizeof(cmdline), raw, (size_t)r);
		}
		snprintf(descr, sizeof(descr), "pid %u exe %s cmdline %s", f->pid,
			 exe[0] ? exe : "?", cmdline[0] ? cmdline : "?");
	}
	err = pcapng_add_interface(po->w, PCAPNG_LINKTYPE_ETHERNET, 0, name, descr, &p->if_id);
	if (err) {
		set_err(po, err);
		return p;
	}
	p->gen = po->gen;
	p->gaps = p->lost_bytes = p->snap_bytes = 0;
	return p;
}

static struct tcp_state *tcp_for(struct pcap_out *po, const struct flow *f, int first_dir)
{
	struct tcp_state *c;
	size_t b = bucket(f->conn_id);
	const struct tlstap_addr *a = &f->meta.addr;

	for (c = po->conns[b]; c && c->conn_id != f->conn_id; c = c->next)
		;
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->conn_id = f->conn_id;
	c->isn[0] = (__u32)(f->conn_id * 0x9E3779B1u) ^ 0x10000000u;
	c->isn[1] = (__u32)(f->conn_id * 0x85EBCA77u) ^ 0x20000000u;
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
	/*
	 * The SYN comes from the client: the side that sent the first byte
	 * (HTTP, HTTP/2 and most TLS protocols are client-first; the kernel
	 * does not say who connected).
	 */
	c->local_is_client = first_dir == TLSTAP_DIR_OUT;
	c->next = po->conns[b];
	po->conns[b] = c;
	return c;
}

/* The live connection that is c seen from its other end, if traced too. */
static struct tcp_state *mirror_of(struct pcap_out *po, const struct tcp_state *c)
{
	size_t alen = c->family == AF_INET ? 4 : 16, b;
	struct tcp_state *m;

	if (!c->known_addr)
		return NULL;
	for (b = 0; b < NBUCKETS; b++)
		for (m = po->conns[b]; m; m = m->next)
			if (m != c && m->known_addr && !m->shadow_of && m->family == c->family &&
			    m->lport == c->rport && m->rport == c->lport &&
			    !memcmp(m->laddr, c->raddr, alen) && !memcmp(m->raddr, c->laddr, alen))
				return m;
	return NULL;
}

static struct tcp_state *find_tcp(struct pcap_out *po, __u64 conn_id)
{
	struct tcp_state *c;

	for (c = po->conns[bucket(conn_id)]; c && c->conn_id != conn_id; c = c->next)
		;
	return c;
}

/* Whether c writes its packets: not while its other end's connection does. */
static bool writes(struct pcap_out *po, struct tcp_state *c)
{
	struct tcp_state *m;

	if (c->shadow_of && find_tcp(po, c->shadow_of))
		return false;
	c->shadow_of = 0;
	m = mirror_of(po, c);
	if (m) {
		c->shadow_of = m->conn_id;
		return false;
	}
	return true;
}

static void forget_tcp(struct pcap_out *po, __u64 conn_id)
{
	struct tcp_state **pp = &po->conns[bucket(conn_id)], *c;

	while ((c = *pp)) {
		if (c->conn_id == conn_id) {
			*pp = c->next;
			free(c);
			return;
		}
		pp = &c->next;
	}
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
	n = tcpsynth_build_eth(po->frame, sizeof(po->frame), &s);
	if (n < 0) {
		set_err(po, n);
		return;
	}
	/* The writer counts what it accepted and lost; this counts what it was not given. */
	if (po->err) {
		po->unwritten_pkts++;
		po->unwritten_bytes += (__u64)n;
		return;
	}
	set_err(po, pcapng_write_packet(po->w, p->if_id, ts_ns, po->frame, (uint32_t)n, (uint32_t)n,
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
	segment(po, p, c, cli, TCPSYNTH_SYN, seq_at(c, cli, f->s[cli].next) - 1, 0, NULL, 0, ts, comment);
	segment(po, p, c, srv, TCPSYNTH_SYN | TCPSYNTH_ACK, seq_at(c, srv, f->s[srv].next) - 1,
		seq_at(c, cli, f->s[cli].next), NULL, 0, ts, NULL);
	segment(po, p, c, cli, TCPSYNTH_ACK, seq_at(c, cli, f->s[cli].next),
		seq_at(c, srv, f->s[srv].next), NULL, 0, ts, NULL);
}

/*
 * -C rotation. Nonzero once -G -W has written its files: nothing more goes
 * out. After a write error the packets still go through, to be counted.
 */
static int before_write(struct pcap_out *po)
{
	if (!po->err && po->o.rotate_bytes && pcapng_bytes_written(po->w) >= po->o.rotate_bytes)
		set_err(po, rotate(po));
	return po->err == -ECANCELED;
}

static void on_data(void *ctx, const struct flow *f, const struct tlstap_data_event *ev)
{
	struct pcap_out *po = ctx;
	struct proc_if *p;
	struct tcp_state *c;
	char comment[400];
	__u64 ts = real_ns(po, ev->ts_ns);
	__u32 off = 0, n, max;

	if (before_write(po))
		return;
	p = proc_if_for(po, f);
	c = tcp_for(po, f, ev->dir);
	if (!p || !c || !writes(po, c))
		return;
	announce(po, p, c, f, ts);
	pcap_out_comment(comment, sizeof(comment), ev);
	/* Chunks are at most 16 KiB, within one segment; split anyway if not. */
	max = (__u32)tcpsynth_max_payload(c->family);
	while (off < ev->len) {
		n = ev->len - off < max ? ev->len - off : max;
		segment(po, p, c, ev->dir, TCPSYNTH_ACK | TCPSYNTH_PSH, seq_at(c, ev->dir, ev->pos + off),
			seq_at(c, !ev->dir, f->s[!ev->dir].next), ev->data + off, n, ts,
			off ? NULL : comment);
		off += n;
	}
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

static void on_close(void *ctx, const struct flow *f, enum close_reason why)
{
	static const char *const reasons[] = { "close", "exit", "end", "evicted" };
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
		c = find_tcp(po, f->conn_id);
		/* A rotation just now: the new file needs the connection before its FIN. */
		if (p && c && c->gen && c->gen != po->gen && !c->shadow_of &&
		    (why == CLOSE_FD || why == CLOSE_EXIT))
			announce(po, p, c, f, ts);
		/* Still open when tlstap stopped (or evicted): no FIN, nothing ended. */
		if (p && c && c->gen == po->gen && !c->shadow_of && (why == CLOSE_FD || why == CLOSE_EXIT)) {
			cli = c->local_is_client ? 0 : 1;
			snprintf(comment, sizeof(comment),
				 "tlstap close conn=%llu pid=%u reason=%s out=%llu in=%llu",
				 (unsigned long long)f->conn_id, f->pid, reasons[why & 3],
				 (unsigned long long)f->s[0].next, (unsigned long long)f->s[1].next);
			segment(po, p, c, cli, TCPSYNTH_FIN | TCPSYNTH_ACK, seq_at(c, cli, f->s[cli].next),
				seq_at(c, !cli, f->s[!cli].next), NULL, 0, ts, comment);
			segment(po, p, c, !cli, TCPSYNTH_FIN | TCPSYNTH_ACK,
				seq_at(c, !cli, f->s[!cli].next), seq_at(c, cli, f->s[cli].next) + 1,
				NULL, 0, ts, NULL);
			segment(po, p, c, cli, TCPSYNTH_ACK, seq_at(c, cli, f->s[cli].next) + 1,
				seq_at(c, !cli, f->s[!cli].next) + 1, NULL, 0, ts, NULL);
		}
	}
	forget_tcp(po, f->conn_id);
}

const struct flow_callbacks pcap_out_callbacks = {
	.on_data = on_data,
	.on_gap = on_gap,
	.on_close = on_close,
};
