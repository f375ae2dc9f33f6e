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
#define SOCK_STREAM	1

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
#define NR_dup2		33
#define NR_dup3		292
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
#define NR_dup2		(-1)	/* arm64 has dup3 only */
#define NR_dup3		24
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
/* Set by the collector when it stops: no new calls, no counting of their returns. */
bool stopping = false;

/*
 * Where the stack pointer is at a return probe relative to the entry probe
 * of the same call: x86's ret pops the return address the entry saw on the
 * stack; arm64 returns through the link register.
 */
#if defined(__TARGET_ARCH_x86)
#define RET_SP_DELTA	8
#else
#define RET_SP_DELTA	0
#endif

/* An SSL/GnuTLS call in progress on a thread, from entry to return. */
struct call_frame {
	__u64 sp;		/* stack pointer at entry: pairs the return with it */
	__u64 session;		/* SSL * or gnutls_session_t */
	__u64 buf;
	__u64 outlen_ptr;	/* size_t * of the _ex variants */
	__u64 cookie;
	__u64 sk;		/* struct sock * of fd */
	__u64 sk_ino;		/* the socket's inode number: its identity */
	__s32 fd;		/* from the nested socket syscall, -1 if none */
	__u8 skip;		/* nested in a call on the same session: the outer one captures */
	__u8 tentative;		/* socket inferred, not seen inside the call */
	/* A call it tail-jumped to (same stack pointer) has returned: its own
	 * return is due at once, so if the next entry comes first it is dead. */
	__u8 tail_returned;
	__u8 pad;
};

/*
 * Calls nest when one TLS connection runs inside another (HTTPS proxies).
 * Frames are paired with returns by stack pointer, not by counting: an entry
 * whose return never comes (probes attached between the two, a longjmp out
 * of the library) or a return whose entry was not seen must cost that one
 * call, never the thread's later calls.
 */
struct call_stack {
	__u32 depth;		/* frames in f[], at most TLSTAP_MAX_NESTING */
	__u32 pad;
	__u64 overflow_sp;	/* the last call refused for depth, counted at entry */
	struct call_frame f[TLSTAP_MAX_NESTING];
};


struct fd_key {
	__u32 pid;
	__s32 fd;
};

struct pending_write_val {
	struct tlstap_session_key key;
	__u64 min_len;		/* the ciphertext write is at least this long */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);		/* tid */
	__type(value, struct call_stack);
} active_calls SEC(".maps");

/* LRU: sessions a process never frees cannot fill the table for good. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tlstap_session_key);
	__type(value, struct tlstap_conn_state);
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
	__type(value, struct pending_write_val);
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

/*
 * Programs that may write to the rings, running now on each CPU: when it
 * stops, the collector sets `stopping`, then waits until every CPU's count
 * is 0, so nothing is written after its last drain, without waiting for the
 * (slow, serialised) detaching of every uprobe first.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} busy SEC(".maps");

static __always_inline __u64 *busy_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&busy, &zero);
}

/* Counts this program in, then checks `stopping` (in that order: see busy). */
static __always_inline bool enter_emitter(__u64 *slot)
{
	/* The fetching form is fully ordered on every architecture. */
	if (__sync_fetch_and_add(slot, 1) == (__u64)-1)
		return false;	/* never: keeps the fetching form */
	if (stopping) {
		__sync_fetch_and_sub(slot, 1);
		return false;
	}
	return true;
}

static __always_inline void leave_emitter(__u64 *slot)
{
	__sync_fetch_and_sub(slot, 1);
}

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


/* An empty stack to create a thread's entry from (global data is a map value). */
static const struct call_stack empty_stack = {};

static __always_inline void count(__u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
}

/* The innermost frame, or NULL. */
static __always_inline struct call_frame *top_frame(struct call_stack *cs)
{
	__u32 d = cs->depth;

	if (d == 0 || d > TLSTAP_MAX_NESTING)
		return NULL;
	d--;
	/* Keep the mask after codegen: the verifier needs the bound. */
	asm volatile("" : "+r"(d));
	return &cs->f[d & (TLSTAP_MAX_NESTING - 1)];
}

/*
 * Whether a call is the same transfer as the call frame up it is nested in
 * (so only the outer one captures): the same session (SSL_read_ex calling
 * SSL_read in LibreSSL, gnutls_record_send jumping to gnutls_record_send2),
 * or the same buffer in the same direction (GnuTLS's OpenSSL compatibility
 * layer calling gnutls_record_send). A TLS session tunnelled through another
 * (an HTTPS proxy) moves other bytes and is captured too.
 */
static __always_inline bool same_transfer(const struct call_frame *up, __u64 session, __u64 buf,
					  __u64 cookie)
{
	return up->session == session ||
	       (up->buf == buf && TLSTAP_COOKIE_DIR(up->cookie) == TLSTAP_COOKIE_DIR(cookie));
}

/*
 * Whether the call entering at sp was tail-jumped to from a function whose
 * return probe has already taken its return address: that address is then
 * the uretprobe trampoline's (the kernel sets it up after the entry
 * handlers, so the caller's own entry saw the real one). A call made anew
 * from the same place (after a longjmp out of the last one) returns to real
 * code instead.
 */
static __always_inline bool entered_by_tail_jump(struct pt_regs *ctx, __u64 sp)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct xol_area *area = BPF_CORE_READ(task, mm, uprobes_state.xol_area);
	__u64 ra = 0, tramp;

	if (!area)
		return false;
	tramp = BPF_CORE_READ(area, vaddr);
#if defined(__TARGET_ARCH_x86)
	if (bpf_probe_read_user(&ra, sizeof(ra), (void *)sp))
		return false;
#else
	ra = PT_REGS_RET(ctx);	/* the link register */
#endif
	return tramp && ra == tramp;
}

/*
 * Drops the frames of calls that cannot still be running, before a call
 * entering with stack pointer sp; returns how many. The stack grows down, so
 * a frame below sp was left by a call that returned without its return
 * probe. A frame at sp itself is a live caller only when it tail-jumped here
 * (same transfer, not yet past its callee's return, and our return address
 * is the trampoline); otherwise it is dead too.
 */
static __always_inline __u32 pop_dead_frames(struct pt_regs *ctx, struct call_stack *cs, __u64 sp,
					     __u64 session, __u64 buf, __u64 cookie)
{
	struct call_frame *top;
	__u32 n = 0;
	int i, tail = -1;	/* -1: not looked at yet */

	for (i = 0; i < TLSTAP_MAX_NESTING; i++) {
		top = top_frame(cs);
		if (!top || top->sp > sp)
			break;
		if (top->sp == sp && !top->tail_returned && same_transfer(top, session, buf, cookie)) {
			if (tail < 0)
				tail = entered_by_tail_jump(ctx, sp);
			if (tail)
				break;	/* a live caller that jumped here */
		}
		cs->depth--;
		n++;
	}
	return n;
}

/* At a return whose entry had sp: frames below it are dead calls. */
static __always_inline __u32 pop_frames_below(struct call_stack *cs, __u64 sp)
{
	struct call_frame *top;
	__u32 n = 0;
	int i;

	for (i = 0; i < TLSTAP_MAX_NESTING; i++) {
		top = top_frame(cs);
		if (!top || top->sp >= sp)
			break;
		cs->depth--;
		n++;
	}
	return n;
}

SEC("uprobe")
int BPF_KPROBE(tls_entry, void *session, void *buf, __u64 num, void *arg4, void *arg5)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 sp = PT_REGS_SP(ctx), cookie;
	__u32 tid = (__u32)id, d, dead;
	struct call_stack *cs;
	struct call_frame *f;
	struct tlstap_stats *st;

	if (stopping || !wanted(id >> 32))
		return 0;
	cs = bpf_map_lookup_elem(&active_calls, &tid);
	if (!cs) {
		bpf_map_update_elem(&active_calls, &tid, &empty_stack, BPF_NOEXIST);
		cs = bpf_map_lookup_elem(&active_calls, &tid);
	}
	st = cpu_stats();
	if (!cs)
		return 0;	/* no room: its return counts it as unmatched */
	cookie = bpf_get_attach_cookie(ctx);
	dead = pop_dead_frames(ctx, cs, sp, (__u64)session, (__u64)buf, cookie);
	if (dead && st)
		__sync_fetch_and_add(&st->unfinished_calls, dead);
	if (cs->depth >= TLSTAP_MAX_NESTING) {
		/* Not kept: its return finds no frame of its own and is not
		 * counted a second time. */
		cs->overflow_sp = sp;
		if (st)
			count(&st->call_table_full);
		return 0;
	}
	d = cs->depth & (TLSTAP_MAX_NESTING - 1);
	f = &cs->f[d];
	f->sp = sp;
	f->session = (__u64)session;
	f->buf = (__u64)buf;
	f->cookie = cookie;
	f->outlen_ptr = TLSTAP_COOKIE_STYLE(f->cookie) == TLSTAP_RET_EX5 ? (__u64)arg5 : (__u64)arg4;
	f->sk = 0;
	f->sk_ino = 0;
	f->fd = -1;
	f->tentative = 0;
	f->tail_returned = 0;
	/* A call inside another that moves the same bytes: the outer captures. */
	if (d > 0) {
		struct call_frame *up = &cs->f[(d - 1) & (TLSTAP_MAX_NESTING - 1)];

		f->skip = same_transfer(up, (__u64)session, (__u64)buf, cookie);
	} else {
		f->skip = 0;
	}
	cs->depth = d + 1;
	return 0;
}

/* The fd's socket, or NULL when the fd is not a socket. */
static __always_inline struct socket *fd_to_socket(int fd, __u64 *ino)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	umode_t mode;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	*ino = BPF_CORE_READ(file, f_inode, i_ino);
	return BPF_CORE_READ(file, private_data);
}

/* Fills a frame's socket from fd; inet_only for guesses (memory BIOs). */
static __always_inline bool frame_learn_fd(struct call_frame *f, int fd, bool inet_only)
{
	struct socket *sock;
	struct sock *sk;
	__u64 ino = 0;
	__u16 family;

	sock = fd_to_socket(fd, &ino);
	if (!sock)
		return false;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return false;
	if (inet_only) {
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		if ((family != AF_INET && family != AF_INET6) || BPF_CORE_READ(sock, type) != SOCK_STREAM)
			return false;
	}
	f->sk = (__u64)sk;
	f->sk_ino = ino;
	f->fd = fd;
	f->tentative = inet_only;
	return true;
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

/* False when the ring was full: the event is lost (and counted). */
static __always_inline bool emit_ctrl(__u16 type, __u32 pid, __u64 conn_id, __u64 *end_pos)
{
	struct tlstap_ctrl_event *e;
	struct tlstap_stats *st;
	void *ring = cpu_ring();

	e = ring ? bpf_ringbuf_reserve(ring, sizeof(*e), 0) : NULL;
	if (!e) {
		st = cpu_stats();
		if (st)
			__sync_fetch_and_add(&st->ctrl_lost, 1);
		return false;
	}
	e->type = type;
	e->pad = 0;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn_id = conn_id;
	e->end_pos[0] = end_pos ? end_pos[0] : 0;
	e->end_pos[1] = end_pos ? end_pos[1] : 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return true;
}

struct emit_ctx {
	void *ring;
	__u64 src;
	__u64 ring_limit;	/* data records keep the ring below this */
	__u32 total;		/* bytes to capture */
	__u32 done;
	__u64 lost_tail;	/* bytes after the capture that are lost (beyond 2 GiB) */
	__u64 skipped;		/* bytes after the capture, beyond snaplen */
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
		if (bpf_ringbuf_query(c->ring, BPF_RB_AVAIL_DATA) > c->ring_limit) \
			goto full;						\
		e = bpf_ringbuf_reserve(c->ring, sizeof(*e) + (SIZE), 0);	\
		if (!e)								\
			goto full;						\
		__builtin_memcpy(e, &c->hdr, sizeof(*e));			\
		e->pos = c->hdr.pos + c->done;					\
		e->len = n;							\
		if (c->done == 0)						\
			e->flags |= TLSTAP_F_CALL_START;			\
		else								\
			e->flags &= ~TLSTAP_F_NEW_CONN;				\
		if (last) {							\
			e->flags |= TLSTAP_F_CALL_END;				\
			e->lost = c->lost_tail;					\
			e->skipped = c->skipped;				\
		}								\
		m = n;								\
		/* Make the bound visible to the verifier after codegen. */	\
		asm volatile("" : "+r"(m));					\
		if (m > (SIZE))							\
			m = (SIZE);						\
		if (bpf_probe_read_user(e->data, m, (void *)(c->src + c->done))) { \
			e->len = 0;						\
			e->lost += n;						\
			if (c->st)						\
				__sync_fetch_and_add(&c->st->unreadable_bytes, n); \
		}								\
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
	/* Positions were claimed already: the collector sees this range as a gap. */
	if (c->st) {
		__sync_fetch_and_add(&c->st->ring_full_events, 1);
		__sync_fetch_and_add(&c->st->ring_full_bytes, n);
	}
	c->done += n;
	return 0;
}

static __always_inline void note_traced(__u32 pid, __s32 fd, __u64 session, bool tentative)
{
	struct fd_key fk = { .pid = pid, .fd = fd };
	__u8 one = 1;

	if (!bpf_map_lookup_elem(&traced_pids, &pid))
		bpf_map_update_elem(&traced_pids, &pid, &one, BPF_ANY);
	/* A guessed socket must not end the connection when it closes. */
	if (fd >= 0 && !tentative)
		bpf_map_update_elem(&fd_sessions, &fk, &session, BPF_ANY);
}

static __always_inline void conn_set_socket(struct tlstap_conn_state *cs, __u32 pid,
					    struct call_frame *f)
{
	cs->sk_ino = f->sk_ino;
	cs->fd = f->fd;
	cs->tentative = f->tentative;
	read_addr((struct sock *)f->sk, &cs->addr);
	note_traced(pid, f->fd, f->session, f->tentative);
}

/*
 * The connection of this call: found by session; told its socket when it
 * did not know it (or only guessed it); replaced when the session's socket
 * changed (a freed SSL's address reused for a new connection).
 */
static __always_inline struct tlstap_conn_state *lookup_conn(__u32 pid, __u32 tid, __u8 dir,
						      struct call_frame *f, bool *is_new)
{
	struct tlstap_session_key key = { .pid = pid, .session = f->session };
	struct tlstap_conn_state *cs, fresh = {};
	struct tlstap_stats *st;
	__s32 *fdp;
	__u8 one = 1;

	*is_new = false;
	cs = bpf_map_lookup_elem(&conns, &key);
	if (f->fd < 0 && (!cs || !cs->sk_ino)) {
		/* No socket syscall inside the call and none known: a memory BIO. */
		fdp = dir == TLSTAP_DIR_IN ? bpf_map_lookup_elem(&last_read_fd, &tid) : NULL;
		if (fdp) {
			frame_learn_fd(f, *fdp, true);
			bpf_map_delete_elem(&last_read_fd, &tid);
		} else if (!bpf_map_lookup_elem(&membio_pids, &pid)) {
			bpf_map_update_elem(&membio_pids, &pid, &one, BPF_ANY);
		}
	}
	if (cs) {
		if (!f->sk_ino || cs->sk_ino == f->sk_ino) {
			if (cs->sk_ino && cs->tentative && !f->tentative) {
				cs->tentative = 0;	/* the guess is confirmed */
				note_traced(pid, cs->fd, f->session, false);
			}
			return cs;
		}
		if (!cs->sk_ino || (cs->tentative && !f->tentative)) {
			conn_set_socket(cs, pid, f);
			return cs;
		}
		/* Another socket: that connection is over, this is a new one. */
		emit_ctrl(TLSTAP_EV_CLOSE, pid, cs->conn_id, cs->pos);
	}
	fresh.conn_id = __sync_fetch_and_add(&next_conn_id, 1);
	fresh.fd = -1;
	if (bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY)) {
		st = cpu_stats();
		if (st)
			__sync_fetch_and_add(&st->conn_table_full, 1);
		return NULL;
	}
	cs = bpf_map_lookup_elem(&conns, &key);
	if (!cs)
		return NULL;
	if (f->sk_ino)
		conn_set_socket(cs, pid, f);
	else
		note_traced(pid, -1, f->session, false);
	*is_new = true;
	return cs;
}

static __always_inline int tls_return_body(struct pt_regs *ctx, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32, d;
	struct call_stack *stack;
	struct call_frame *f;
	struct tlstap_conn_state *cs;
	struct emit_ctx c = {};
	__u64 moved = 0, cookie, cap, want, sp;
	__u32 nchunks, dead;
	bool is_new;
	__u8 dir;

	c.st = cpu_stats();
	stack = bpf_map_lookup_elem(&active_calls, &tid);
	/* The entry's stack pointer: frames deeper than it are dead calls. */
	sp = PT_REGS_SP(ctx) - RET_SP_DELTA;
	dead = stack ? pop_frames_below(stack, sp) : 0;
	if (dead && c.st)
		__sync_fetch_and_add(&c.st->unfinished_calls, dead);
	f = stack ? top_frame(stack) : NULL;
	if (!f || f->sp != sp) {
		/* A return without its entry (the entry probe was attached after
		 * the call began, or the call was nested too deep): untraced.
		 * Calls the filters leave out have no entry either. */
		if (stack && stack->overflow_sp == sp)
			stack->overflow_sp = 0;	/* counted as call_table_full */
		else if (c.st && wanted(pid))
			count(&c.st->unmatched_returns);
		if (stack && stack->depth == 0)
			bpf_map_delete_elem(&active_calls, &tid);
		return 0;
	}
	d = stack->depth - 1;
	stack->depth = d;
	{
		/* A caller that tail-jumped here returns next, at once. */
		struct call_frame *up = top_frame(stack);

		if (up && up->sp == sp)
			up->tail_returned = 1;
	}
	if (f->skip)
		goto out;
	cookie = f->cookie;
	/* These functions return int: the upper half of the register is junk. */
	if (TLSTAP_COOKIE_STYLE(cookie) == TLSTAP_RET_EX ||
	    TLSTAP_COOKIE_STYLE(cookie) == TLSTAP_RET_EX5) {
		if ((int)ret <= 0)
			goto out;
		/* A count no call can move (1 TiB) is not believed: positions stay sane. */
		if (bpf_probe_read_user(&moved, sizeof(moved), (void *)f->outlen_ptr) ||
		    moved > (1ull << 40)) {
			if (c.st)
				__sync_fetch_and_add(&c.st->bad_len, 1);
			goto out;
		}
	} else if (TLSTAP_COOKIE_STYLE(cookie) == TLSTAP_RET_SSIZE) {
		if (ret > 0)
			moved = ret;
	} else if ((int)ret > 0) {
		moved = (__u32)(int)ret;
	}
	if (moved == 0)
		goto out;

	dir = TLSTAP_COOKIE_DIR(cookie) & 1;
	cs = lookup_conn(pid, tid, dir, f, &is_new);
	if (!cs)
		goto out;
	if (!cs->sk_ino && dir == TLSTAP_DIR_OUT) {
		struct pending_write_val pw = {
			.key = { .pid = pid, .session = f->session },
			.min_len = moved < 65536 ? moved : 65536,
		};

		bpf_map_update_elem(&pending_write, &tid, &pw, BPF_ANY);
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
	/* Claim the range first: whatever is not delivered is an exact gap. */
	c.hdr.pos = __sync_fetch_and_add(&cs->pos[dir], moved);
	c.hdr.addr = cs->addr;
	bpf_get_current_comm(c.hdr.comm, sizeof(c.hdr.comm));

	cap = (__u64)TLSTAP_CHUNK_MAX * TLSTAP_MAX_CHUNKS;
	want = moved;
	if (snaplen && want > snaplen) {
		c.skipped = want - snaplen;
		want = snaplen;
		if (c.st)
			__sync_fetch_and_add(&c.st->snap_bytes, c.skipped);
	}
	if (want > cap) {
		c.lost_tail = want - cap;
		want = cap;
		if (c.st)
			__sync_fetch_and_add(&c.st->oversize_bytes, c.lost_tail);
	}
	c.total = (__u32)want;
	c.src = f->buf;
	c.ring = cpu_ring();
	if (!c.ring) {
		if (c.st) {
			__sync_fetch_and_add(&c.st->ring_full_events, 1);
			__sync_fetch_and_add(&c.st->ring_full_bytes, want);
		}
		goto out;
	}
	c.ring_limit = bpf_ringbuf_query(c.ring, BPF_RB_RING_SIZE);
	/* Never wraps: a ring no bigger than the headroom takes no data. */
	c.ring_limit = c.ring_limit > TLSTAP_CTRL_HEADROOM ? c.ring_limit - TLSTAP_CTRL_HEADROOM : 0;
	nchunks = (c.total + TLSTAP_CHUNK_MAX - 1) / TLSTAP_CHUNK_MAX;
	bpf_loop(nchunks, emit_chunk, &c, 0);
out:
	if (d == 0)
		bpf_map_delete_elem(&active_calls, &tid);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(tls_return, long ret)
{
	__u64 *busy = busy_slot();

	if (!busy || !enter_emitter(busy))
		return 0;
	tls_return_body(ctx, ret);
	leave_emitter(busy);
	return 0;
}

static __always_inline void on_close(__u32 pid, __s32 fd)
{
	struct fd_key fk = { .pid = pid, .fd = fd };
	struct tlstap_session_key key = { .pid = pid };
	struct tlstap_conn_state *cs;
	__u64 *session;

	session = bpf_map_lookup_elem(&fd_sessions, &fk);
	if (!session)
		return;
	key.session = *session;
	bpf_map_delete_elem(&fd_sessions, &fk);
	cs = bpf_map_lookup_elem(&conns, &key);
	if (!cs || cs->fd != fd)
		return;
	/* A close the collector never hears of: the entry stays, and the
	 * collector reads its end positions when the process exits. */
	if (emit_ctrl(TLSTAP_EV_CLOSE, pid, cs->conn_id, cs->pos))
		bpf_map_delete_elem(&conns, &key);
}

/* For a memory-BIO thread that wrote plaintext with no socket known: its
 * next write on a TCP socket, long enough to carry it, names the socket. */
static __always_inline void learn_from_write(__u32 tid, __s32 fd, __u64 len, bool len_known)
{
	struct pending_write_val *pw;
	struct call_frame f = {};
	struct tlstap_conn_state *cs;

	pw = bpf_map_lookup_elem(&pending_write, &tid);
	if (!pw)
		return;
	if (len_known && len < pw->min_len)
		return;
	if (!frame_learn_fd(&f, fd, true))
		return;
	f.session = pw->key.session;
	cs = bpf_map_lookup_elem(&conns, &pw->key);
	if (cs && !cs->sk_ino)
		conn_set_socket(cs, pw->key.pid, &f);
	bpf_map_delete_elem(&pending_write, &tid);
}

/*
 * The socket syscall a thread makes inside a TLS call names the connection's
 * fd; close() of a traced fd ends its connection.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long nr)
{
	struct call_stack *stack;
	struct call_frame *f;
	bool is_read = false, len_known = false;
	__u64 id, *busy;
	__u32 tid, d;
	__s32 fd;
	int i;

	switch (nr) {
	case NR_read: case NR_readv: case NR_recvfrom: case NR_recvmsg:
		is_read = true;
		break;
	case NR_write: case NR_sendto:
		len_known = true;
		break;
	case NR_writev: case NR_sendmsg:
		break;
	case NR_close:
	case NR_dup2:
	case NR_dup3:
		/* dup2/dup3 close their target fd, the second argument. */
		id = bpf_get_current_pid_tgid();
		if (!bpf_map_lookup_elem(&traced_pids, &(__u32){ id >> 32 }))
			return 0;
		fd = nr == NR_close ? (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs) :
				      (__s32)PT_REGS_PARM2_CORE_SYSCALL(regs);
		busy = busy_slot();
		if (busy && enter_emitter(busy)) {
			on_close(id >> 32, fd);
			leave_emitter(busy);
		}
		return 0;
	default:
		return 0;
	}
	id = bpf_get_current_pid_tgid();
	tid = (__u32)id;
	fd = (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs);
	stack = bpf_map_lookup_elem(&active_calls, &tid);
	if (stack && stack->depth > 0) {
		/* Only a socket names the connection (not an eventfd or a log
		 * file). Outer frames of a nested call run over the same one. */
		d = stack->depth;
		for (i = 0; i < TLSTAP_MAX_NESTING; i++) {
			if (i >= d)
				break;
			f = &stack->f[i];
			if (f->fd < 0 && !frame_learn_fd(f, fd, false))
				break;
		}
		return 0;
	}
	if (!is_read) {
		learn_from_write(tid, fd, PT_REGS_PARM3_CORE_SYSCALL(regs), len_known);
		return 0;
	}
	if (bpf_map_lookup_elem(&membio_pids, &(__u32){ id >> 32 })) {
		struct call_frame probe = {};

		if (frame_learn_fd(&probe, fd, true))
			bpf_map_update_elem(&last_read_fd, &tid, &fd, BPF_ANY);
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	__u64 *busy;

	bpf_map_delete_elem(&active_calls, &tid);
	bpf_map_delete_elem(&last_read_fd, &tid);
	bpf_map_delete_elem(&pending_write, &tid);
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&membio_pids, &pid);
	if (!bpf_map_lookup_elem(&traced_pids, &pid))
		return 0;
	bpf_map_delete_elem(&traced_pids, &pid);
	busy = busy_slot();
	if (busy && enter_emitter(busy)) {
		emit_ctrl(TLSTAP_EV_EXIT, pid, 0, NULL);
		leave_emitter(busy);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
