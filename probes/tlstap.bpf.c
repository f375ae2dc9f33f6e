// SPDX-License-Identifier: GPL-2.0
/* Uprobes on TLS read/write functions that copy plaintext into per-CPU rings. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tlstap.h"

#define AF_UNIX		1
#define AF_INET		2
#define AF_INET6	10
#define S_IFMT		00170000
#define S_IFSOCK	0140000

/* Socket syscalls that name the fd in their first argument. */
#if defined(__TARGET_ARCH_x86)
#define NR_read		0
#define NR_write	1
#define NR_close	3
#define NR_readv	19
#define NR_writev	20
#define NR_sendto	44
#define NR_recvfrom	45
#define NR_sendmsg	46
#define NR_recvmsg	47
#elif defined(__TARGET_ARCH_arm64)
#define NR_read		63
#define NR_write	64
#define NR_close	57
#define NR_readv	65
#define NR_writev	66
#define NR_sendto	206
#define NR_recvfrom	207
#define NR_sendmsg	211
#define NR_recvmsg	212
#else
#error "tlstap knows the syscall numbers of x86 and arm64 only"
#endif

/* Filters, set by the collector before load. */
const volatile bool filter_pid = false;
const volatile bool filter_uid = false;
const volatile __u32 targ_uid = 0;
const volatile bool filter_comm = false;
const volatile char targ_comm[TLSTAP_COMM_LEN] = {};
const volatile __u32 snaplen = 0;	/* 0: no limit */
/* Wake the collector only once this much waits in a ring (it also polls on
 * a timer): a wakeup per record would cost the traced program more. */
const volatile __u64 wakeup_bytes = 0;

__u64 next_conn_id = 1;

/* An SSL/GnuTLS call in progress on a thread, from entry to return. */
struct active_call {
	__u64 session;		/* SSL * or gnutls_session_t */
	__u64 buf;
	__u64 outlen_ptr;	/* size_t * of the _ex variants */
	__u64 cookie;
	__u64 sk;		/* struct sock * of fd */
	__s32 fd;		/* from the nested socket syscall, -1 if none */
	__u32 pad;
};

struct session_key {
	__u32 pid;
	__u32 pad;
	__u64 session;
};

/* The connection a TLS session runs over, and its stream positions. */
struct conn_state {
	__u64 conn_id;
	__u64 sk;		/* struct sock *, to notice fd reuse */
	__u64 pos[2];		/* per enum tlstap_dir */
	__s32 fd;
	__u32 pad;
	struct tlstap_addr addr;
};

struct fd_key {
	__u32 pid;
	__s32 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);		/* tid */
	__type(value, struct active_call);
} active_calls SEC(".maps");

/* LRU: sessions a process never frees cannot fill the table for good. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct session_key);
	__type(value, struct conn_state);
} conns SEC(".maps");

/* (pid, fd) -> session, to see close() of a traced connection. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fd_key);
	__type(value, __u64);
} fd_sessions SEC(".maps");

/*
 * Processes whose TLS calls make no socket syscall (memory BIOs: node,
 * many event loops), and the socket each of their threads read last. The
 * ciphertext such a thread read just before an SSL_read names the socket.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} membio_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);		/* tid */
	__type(value, __s32);
} last_read_fd SEC(".maps");

/* The session a thread just wrote to without a socket known: the thread's
 * next socket write carries its ciphertext and names the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);		/* tid */
	__type(value, struct session_key);
} pending_write SEC(".maps");

/* Processes with traced connections, so their exit is reported. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} traced_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TLSTAP_MAX_PID_FILTER);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tlstap_stats);
} stats SEC(".maps");

/* One ring per CPU; the collector sizes the outer array and fills it. */
struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ring);
} rings SEC(".maps");

static __always_inline struct tlstap_stats *cpu_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline void *cpu_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rings, &cpu);
}

static __always_inline bool comm_matches(void)
{
	char comm[TLSTAP_COMM_LEN];
	int i;

	bpf_get_current_comm(comm, sizeof(comm));
	for (i = 0; i < TLSTAP_COMM_LEN; i++) {
		if (comm[i] != targ_comm[i])
			return false;
		if (comm[i] == '\0')
			break;
	}
	return true;
}

static __always_inline bool wanted(__u32 pid)
{
	if (filter_pid && !bpf_map_lookup_elem(&pid_filter, &pid))
		return false;
	if (filter_uid && (__u32)bpf_get_current_uid_gid() != targ_uid)
		return false;
	if (filter_comm && !comm_matches())
		return false;
	return true;
}

SEC("uprobe")
int BPF_KPROBE(tls_entry, void *session, void *buf, __u64 num, void *outlen)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct active_call call = {};
	struct tlstap_stats *st;

	if (!wanted(id >> 32))
		return 0;
	call.session = (__u64)session;
	call.buf = (__u64)buf;
	call.outlen_ptr = (__u64)outlen;
	call.cookie = bpf_get_attach_cookie(ctx);
	call.fd = -1;
	if (bpf_map_update_elem(&active_calls, &tid, &call, BPF_ANY)) {
		st = cpu_stats();
		if (st)
			__sync_fetch_and_add(&st->call_table_full, 1);
	}
	return 0;
}

/* The fd's struct sock, or NULL when the fd is not a socket. */
static __always_inline struct sock *fd_to_sock(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct socket *sock;
	umode_t mode;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

static __always_inline void read_addr(struct sock *sk, struct tlstap_addr *a)
{
	a->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (a->family == AF_INET) {
		bpf_core_read(a->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(a->raddr, 4, &sk->__sk_common.skc_daddr);
	} else if (a->family == AF_INET6) {
		bpf_core_read(a->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(a->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		return;
	}
	a->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	a->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

static __always_inline __u64 wake_flag(void *ring)
{
	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

struct emit_ctx {
	void *ring;
	__u64 src;
	__u32 total;		/* bytes to capture */
	__u32 done;
	__u32 skipped;		/* bytes after the capture, beyond snaplen */
	struct tlstap_stats *st;
	struct tlstap_data_event hdr;	/* last: it ends in a flexible array */
};

/*
 * Records come in a few fixed sizes because bpf_ringbuf_reserve() needs a
 * constant size; the data is then read straight into the reserved record.
 */
#define EMIT_SIZED(SIZE)							\
	do {									\
		struct tlstap_data_event *e;					\
		e = bpf_ringbuf_reserve(c->ring, sizeof(*e) + (SIZE), 0);	\
		if (!e)								\
			goto full;						\
		__builtin_memcpy(e, &c->hdr, sizeof(*e));			\
		e->pos = c->hdr.pos + c->done;					\
		e->len = n;							\
		if (c->done == 0)						\
			e->flags |= TLSTAP_F_CALL_START;			\
		if (last) {							\
			e->flags |= TLSTAP_F_CALL_END;				\
			e->skipped = c->skipped;				\
		}								\
		if (c->done)							\
			e->flags &= ~TLSTAP_F_NEW_CONN;				\
		m = n;								\
		/* Make the bound visible to the verifier after codegen. */	\
		asm volatile("" : "+r"(m));					\
		if (m > (SIZE))							\
			m = (SIZE);						\
		if (bpf_probe_read_user(e->data, m, (void *)(c->src + c->done))) \
			e->len = 0;						\
		bpf_ringbuf_submit(e, wake_flag(c->ring));			\
	} while (0)

static long emit_chunk(__u32 i, struct emit_ctx *c)
{
	__u32 n = c->total - c->done;
	__u64 m;
	bool last;

	if (c->done >= c->total)
		return 1;
	if (n > TLSTAP_CHUNK_MAX)
		n = TLSTAP_CHUNK_MAX;
	last = c->done + n >= c->total;
	if (n <= 256)
		EMIT_SIZED(256);
	else if (n <= 2048)
		EMIT_SIZED(2048);
	else if (n <= 8192)
		EMIT_SIZED(8192);
	else
		EMIT_SIZED(TLSTAP_CHUNK_MAX);
	c->done += n;
	return 0;
full:
	if (c->st) {
		__sync_fetch_and_add(&c->st->ring_full_events, 1);
		__sync_fetch_and_add(&c->st->ring_full_bytes, n);
	}
	c->done += n;
	return 0;
}

static __always_inline void note_traced(__u32 pid, __s32 fd, __u64 session)
{
	struct fd_key fk = { .pid = pid, .fd = fd };
	__u8 one = 1;

	if (!bpf_map_lookup_elem(&traced_pids, &pid))
		bpf_map_update_elem(&traced_pids, &pid, &one, BPF_ANY);
	if (fd >= 0)
		bpf_map_update_elem(&fd_sessions, &fk, &session, BPF_ANY);
}

/*
 * The connection of this call: found by session, (re)created when the
 * session is new or its socket changed (a freed SSL's address reused).
 */
static __always_inline struct conn_state *lookup_conn(__u32 pid, __u32 tid, __u8 dir,
						      struct active_call *call, bool *is_new)
{
	struct session_key key = { .pid = pid, .session = call->session };
	struct conn_state *cs, fresh = {};
	struct sock *sk = NULL;
	__s32 *fdp;
	__u8 one = 1;

	*is_new = false;
	cs = bpf_map_lookup_elem(&conns, &key);
	if (call->fd < 0 && (!cs || !cs->sk)) {
		/* No syscall inside the call and no socket known: a memory BIO. */
		fdp = dir == TLSTAP_DIR_IN ? bpf_map_lookup_elem(&last_read_fd, &tid) : NULL;
		if (fdp) {
			call->fd = *fdp;
			call->sk = (__u64)fd_to_sock(call->fd);
		} else if (!bpf_map_lookup_elem(&membio_pids, &pid)) {
			bpf_map_update_elem(&membio_pids, &pid, &one, BPF_ANY);
		}
	}
	if (call->fd >= 0)
		sk = (struct sock *)call->sk;
	if (cs) {
		if (!sk || cs->sk == (__u64)sk)
			return cs;
		if (!cs->sk) {
			/* First syscall of a session seen before: learn its socket. */
			cs->sk = (__u64)sk;
			cs->fd = call->fd;
			read_addr(sk, &cs->addr);
			note_traced(pid, call->fd, call->session);
			return cs;
		}
	}
	fresh.conn_id = __sync_fetch_and_add(&next_conn_id, 1);
	fresh.fd = sk ? call->fd : -1;
	fresh.sk = (__u64)sk;
	if (sk)
		read_addr(sk, &fresh.addr);
	if (bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY))
		return NULL;
	note_traced(pid, fresh.fd, call->session);
	*is_new = true;
	return bpf_map_lookup_elem(&conns, &key);
}

SEC("uretprobe")
int BPF_KRETPROBE(tls_return, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	struct active_call *call;
	struct conn_state *cs;
	struct emit_ctx c = {};
	__u64 moved = 0, cookie;
	__u32 nchunks;
	bool is_new;
	__u8 dir;

	call = bpf_map_lookup_elem(&active_calls, &tid);
	if (!call)
		return 0;
	c.st = cpu_stats();
	cookie = call->cookie;
	if (TLSTAP_COOKIE_STYLE(cookie) == TLSTAP_RET_EX) {
		if (ret == 1 && bpf_probe_read_user(&moved, sizeof(moved), (void *)call->outlen_ptr)) {
			if (c.st)
				__sync_fetch_and_add(&c.st->bad_len, 1);
			goto out;
		}
		if (ret != 1)
			moved = 0;
	} else if (ret > 0) {
		moved = ret;
	}
	if (moved == 0 || moved > (__u64)TLSTAP_CHUNK_MAX * TLSTAP_MAX_CHUNKS)
		goto out;

	dir = TLSTAP_COOKIE_DIR(cookie) & 1;
	cs = lookup_conn(pid, tid, dir, call, &is_new);
	if (!cs)
		goto out;
	if (!cs->sk && dir == TLSTAP_DIR_OUT) {
		struct session_key key = { .pid = pid, .session = call->session };

		bpf_map_update_elem(&pending_write, &tid, &key, BPF_ANY);
	}
	c.hdr.type = TLSTAP_EV_DATA;
	c.hdr.dir = dir;
	c.hdr.func_id = TLSTAP_COOKIE_FUNC(cookie);
	c.hdr.lib = TLSTAP_COOKIE_LIB(cookie);
	c.hdr.flags = is_new ? TLSTAP_F_NEW_CONN : 0;
	c.hdr.ts_ns = bpf_ktime_get_ns();
	c.hdr.pid = pid;
	c.hdr.tid = tid;
	c.hdr.uid = (__u32)bpf_get_current_uid_gid();
	c.hdr.fd = cs->fd;
	c.hdr.conn_id = cs->conn_id;
	c.hdr.pos = __sync_fetch_and_add(&cs->pos[dir], moved);
	c.hdr.addr = cs->addr;
	bpf_get_current_comm(c.hdr.comm, sizeof(c.hdr.comm));

	c.total = moved;
	if (snaplen && moved > snaplen) {
		c.total = snaplen;
		c.skipped = moved - snaplen;
		if (c.st)
			__sync_fetch_and_add(&c.st->snap_bytes, c.skipped);
	}
	c.src = call->buf;
	c.ring = cpu_ring();
	if (!c.ring)
		goto out;
	nchunks = (c.total + TLSTAP_CHUNK_MAX - 1) / TLSTAP_CHUNK_MAX;
	bpf_loop(nchunks, emit_chunk, &c, 0);
out:
	bpf_map_delete_elem(&active_calls, &tid);
	return 0;
}

static __always_inline void emit_ctrl(__u16 type, __u32 pid, __u64 conn_id, __u64 *end_pos)
{
	struct tlstap_ctrl_event *e;
	struct tlstap_stats *st;
	void *ring = cpu_ring();

	if (!ring)
		return;
	e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		st = cpu_stats();
		if (st)
			__sync_fetch_and_add(&st->ring_full_events, 1);
		return;
	}
	e->type = type;
	e->pad = 0;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn_id = conn_id;
	e->end_pos[0] = end_pos ? end_pos[0] : 0;
	e->end_pos[1] = end_pos ? end_pos[1] : 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

static __always_inline void on_close(__u32 pid, __s32 fd)
{
	struct fd_key fk = { .pid = pid, .fd = fd };
	struct session_key key = { .pid = pid };
	struct conn_state *cs;
	__u64 *session;

	session = bpf_map_lookup_elem(&fd_sessions, &fk);
	if (!session)
		return;
	key.session = *session;
	bpf_map_delete_elem(&fd_sessions, &fk);
	cs = bpf_map_lookup_elem(&conns, &key);
	if (!cs || cs->fd != fd)
		return;
	emit_ctrl(TLSTAP_EV_CLOSE, pid, cs->conn_id, cs->pos);
	bpf_map_delete_elem(&conns, &key);
}

static __always_inline void learn_from_write(__u32 tid, __s32 fd)
{
	struct session_key *key;
	struct conn_state *cs;
	struct sock *sk;

	key = bpf_map_lookup_elem(&pending_write, &tid);
	if (!key)
		return;
	sk = fd_to_sock(fd);
	if (!sk)
		return;
	cs = bpf_map_lookup_elem(&conns, key);
	if (cs && !cs->sk) {
		cs->sk = (__u64)sk;
		cs->fd = fd;
		read_addr(sk, &cs->addr);
		note_traced(key->pid, fd, key->session);
	}
	bpf_map_delete_elem(&pending_write, &tid);
}

/*
 * The socket syscall a thread makes inside a TLS call names the connection's
 * fd; close() of a traced fd ends its connection.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long nr)
{
	struct active_call *call;
	struct sock *sk;
	bool is_read = false;
	__u64 id;
	__u32 tid;
	__s32 fd;


	switch (nr) {
	case NR_read: case NR_readv: case NR_recvfrom: case NR_recvmsg:
		is_read = true;
		break;
	case NR_write: case NR_writev: case NR_sendto: case NR_sendmsg:
		break;
	case NR_close:
		id = bpf_get_current_pid_tgid();
		if (bpf_map_lookup_elem(&traced_pids, &(__u32){ id >> 32 }))
			on_close(id >> 32, (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs));
		return 0;
	default:
		return 0;
	}
	id = bpf_get_current_pid_tgid();
	tid = (__u32)id;
	call = bpf_map_lookup_elem(&active_calls, &tid);
	if (call) {
		/* Only a socket names the connection (not an eventfd or a log file). */
		if (call->fd < 0) {
			fd = (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs);
			sk = fd_to_sock(fd);
			if (sk) {
				call->sk = (__u64)sk;
				call->fd = fd;
			}
		}
		return 0;
	}
	if (!is_read) {
		learn_from_write(tid, (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs));
		return 0;
	}
	if (bpf_map_lookup_elem(&membio_pids, &(__u32){ id >> 32 })) {
		fd = (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs);
		if (fd_to_sock(fd))
			bpf_map_update_elem(&last_read_fd, &tid, &fd, BPF_ANY);
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;

	bpf_map_delete_elem(&active_calls, &tid);
	bpf_map_delete_elem(&last_read_fd, &tid);
	bpf_map_delete_elem(&pending_write, &tid);
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&membio_pids, &pid);
	if (!bpf_map_lookup_elem(&traced_pids, &pid))
		return 0;
	bpf_map_delete_elem(&traced_pids, &pid);
	emit_ctrl(TLSTAP_EV_EXIT, pid, 0, NULL);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
