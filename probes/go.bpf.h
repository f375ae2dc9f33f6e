/* Go's crypto/tls: a uprobe at the entry of (*Conn).Read/Write and one at each of its RETs, never a return probe. */
#ifndef TLSTAP_GO_BPF_H
#define TLSTAP_GO_BPF_H

#include "tlstap.h"
#include "frames.bpf.h"
#include "maps.bpf.h"
#include "sockets.bpf.h"
#include "capture.bpf.h"

static const struct go_calls_val go_no_calls = {};

#if defined(__TARGET_ARCH_x86)
#define GO_G(ctx)	((ctx)->r14)
#define GO_SP(ctx)	((ctx)->sp)
#else
/* The collector probes Go on amd64 only; elsewhere these programs do nothing. */
#define GO_G(ctx)	0
#define GO_SP(ctx)	0
#endif

/* The goroutine's stack bounds (g.stack.lo, g.stack.hi). */
static __always_inline bool go_stack(__u64 g, __u64 *lo, __u64 *hi)
{
	__u64 b[2];

	if (!g || bpf_probe_read_user(b, sizeof(b), (void *)g) || b[0] >= b[1])
		return false;
	*lo = b[0];
	*hi = b[1];
	return true;
}

/* The top frame of v, or NULL (constant indexes: nothing for the verifier to bound). */
static __always_inline struct go_frame *go_top(struct go_calls_val *v)
{
	_Static_assert(TLSTAP_GO_NESTING == 2, "go_top knows two frames");
	return v->n == 1 ? &v->fr[0] : v->n == 2 ? &v->fr[1] : NULL;
}

/*
 * The socket under a *tls.Conn: tls.Conn.conn's data word is a *net.TCPConn
 * only if what it leads to looks like a TCP netFD and its Sysfd is an inet
 * stream socket of that family in this process (tlstap.h); otherwise f
 * learns nothing.
 */
static __always_inline void go_learn_socket(struct call_frame *f, __u64 conn)
{
	__u64 data = 0, netfd = 0;
	__s64 w[2] = {}, sysfd = -1;
	struct sock *sk;
	__u16 family;

	if (bpf_probe_read_user(&data, sizeof(data), (void *)(conn + TLSTAP_GO_CONN_IFACE_DATA)) ||
	    !data || bpf_probe_read_user(&netfd, sizeof(netfd), (void *)data) || !netfd ||
	    bpf_probe_read_user(&sysfd, sizeof(sysfd), (void *)(netfd + TLSTAP_GO_NETFD_SYSFD)) ||
	    bpf_probe_read_user(w, sizeof(w), (void *)(netfd + TLSTAP_GO_NETFD_FAMILY)))
		return;
	_Static_assert(TLSTAP_GO_NETFD_SOTYPE == TLSTAP_GO_NETFD_FAMILY + 8, "read as a pair");
	if ((w[0] != AF_INET && w[0] != AF_INET6) || w[1] != SOCK_STREAM ||
	    sysfd < 0 || sysfd > 0x7fffffff)
		return;
	if (!frame_learn_fd(f, (int)sysfd, true))
		return;
	sk = (struct sock *)f->sk;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != w[0]) {
		f->sk = 0;
		f->sk_ino = 0;
		f->fd = -1;
		return;
	}
	f->tentative = 0;	/* read from the connection itself: certain */
}

/*
 * Entry of (*Conn).Read(b) or .Write(b): receiver in RAX, b's pointer in RBX
 * (its length in RCX, not needed: the result says how many bytes moved).
 */
SEC("uprobe")
int go_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), g = GO_G(ctx), sp = GO_SP(ctx), lo, hi, depth;
	struct go_key key = { .pid = id >> 32, .g = g };
	struct tlstap_cookie ck = read_cookie(ctx);
	struct go_calls_val *v;
	struct go_frame *top;
	struct tlstap_stats *st;
	int i;

	if (stopping || !wanted(id >> 32) || !go_stack(g, &lo, &hi) || sp < lo || sp >= hi)
		return 0;
	v = lookup_or_init(&go_calls, &key, &go_no_calls);
	st = cpu_stats();
	if (!v)
		return 0;	/* no room: its RET counts it as unmatched */
	depth = hi - sp;
	/* Frames as deep as this one or deeper have returned unseen (a panic
	 * unwound them), except the same call entered again: the prologue that
	 * grows the stack restarts the function once the stack is copied. */
	for (i = 0; i < TLSTAP_GO_NESTING; i++) {
		top = go_top(v);
		if (!top || top->depth < depth)
			break;
		if (!(top->depth == depth && top->f.session == PT_REGS_RC(ctx) &&
		      top->f.ck.func_id == ck.func_id) && st)
			count(&st->unfinished_calls);
		v->n--;
	}
	if (v->n >= TLSTAP_GO_NESTING) {
		if (st)
			count(&st->call_table_full);
		return 0;
	}
	top = v->n == 0 ? &v->fr[0] : &v->fr[1];
	__builtin_memset(top, 0, sizeof(*top));
	top->f.sp = sp;
	top->f.session = PT_REGS_RC(ctx);	/* RAX: the *tls.Conn */
#if defined(__TARGET_ARCH_x86)
	top->f.buf = ctx->bx;
#endif
	top->f.ck = ck;
	top->f.fd = -1;
	top->lo = lo;
	top->hi = hi;
	top->depth = depth;
	go_learn_socket(&top->f, top->f.session);
	v->n++;
	return 0;
}

/*
 * A RET of (*Conn).Read or .Write: n in RAX (the error in RBX, RCX: the bytes
 * are those n, whatever the error). The frame is this goroutine's at the
 * same depth; a buffer that lay in the goroutine's stack moved with it by
 * as much as RSP did.
 */
static __always_inline void go_ret_body(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), g = GO_G(ctx), sp = GO_SP(ctx), lo, hi, src;
	struct go_key key = { .pid = id >> 32, .g = g };
	struct tlstap_cookie ck = read_cookie(ctx);
	struct tlstap_stats *st = cpu_stats();
	struct go_calls_val *v;
	struct go_frame *top;
	long n = PT_REGS_RC(ctx);
	int i;

	v = go_stack(g, &lo, &hi) ? bpf_map_lookup_elem(&go_calls, &key) : NULL;
	for (i = 0; v && i < TLSTAP_GO_NESTING; i++) {
		top = go_top(v);
		if (!top || top->depth <= hi - sp)
			break;
		if (st)
			count(&st->unfinished_calls);	/* deeper: unwound unseen */
		v->n--;
	}
	top = v ? go_top(v) : NULL;
	if (!top || top->depth != hi - sp || top->f.ck.func_id != ck.func_id) {
		if (st && wanted(key.pid))
			count(&st->unmatched_returns);
		return;
	}
	v->n--;
	src = top->f.buf;
	if (sp != top->f.sp) {
		if (src >= top->lo && src < top->hi)
			src += sp - top->f.sp;
		if (st)
			count(&st->go_stack_moves);
	}
	if (n > 0) {
		if (top->f.fd < 0 && st)
			count(&st->go_unattributed);
		capture_call(&top->f, key.pid, (__u32)id, (__u64)n, src, false, st);
	}
	if (v->n == 0)
		bpf_map_delete_elem(&go_calls, &key);
}

SEC("uprobe")
int go_ret(struct pt_regs *ctx)
{
	__u64 *busy = busy_slot();

	if (!busy || !enter_emitter(busy))
		return 0;
	go_ret_body(ctx);
	leave_emitter(busy);
	return 0;
}

#endif
