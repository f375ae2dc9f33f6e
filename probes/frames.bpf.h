/* TLS calls in progress per thread: frames paired with returns by stack pointer. */
#ifndef TLSTAP_FRAMES_BPF_H
#define TLSTAP_FRAMES_BPF_H

#include "tlstap.h"

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

/* A TLS library call in progress on a thread, from entry to return. */
struct call_frame {
	__u64 sp;		/* stack pointer at entry: pairs the return with it */
	__u64 session;		/* the library's session handle */
	__u64 buf;
	__u64 outlen_ptr;	/* where a RES_OUTLEN function stores its count */
	struct tlstap_cookie ck;	/* the function and where its values live */
	__u64 sk;		/* struct sock * of fd */
	__u64 sk_ino;		/* the socket's inode number: its identity */
	__s32 fd;		/* from the nested socket syscall, -1 if none */
	__u8 skip;		/* nested in a call on the same session: the outer one captures */
	__u8 tentative;		/* socket inferred, not seen inside the call */
	/* A call it tail-jumped to (same stack pointer) has returned: its own
	 * return is due at once, so if the next entry comes first it is dead. */
	__u8 tail_returned;
	__u8 foreign;		/* failed its guard: not a TLS transfer, captures nothing */
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

/* The probed function's first arguments, read from the registers at entry. */
struct call_args {
	__u64 a1, a2, a3, a4, a5;
};
_Static_assert(TLSTAP_MAX_ARG == 5, "struct call_args holds arguments 1 to TLSTAP_MAX_ARG");

/*
 * Each register is read on its own, and the values chosen afterwards: code
 * that picked the register by index would add an offset to the context
 * pointer, which the verifier refuses.
 */
static __always_inline struct call_args read_args(struct pt_regs *ctx)
{
	struct call_args a = {
		.a1 = PT_REGS_PARM1(ctx), .a2 = PT_REGS_PARM2(ctx), .a3 = PT_REGS_PARM3(ctx),
		.a4 = PT_REGS_PARM4(ctx), .a5 = PT_REGS_PARM5(ctx),
	};

	asm volatile("" : "+r"(a.a1), "+r"(a.a2), "+r"(a.a3), "+r"(a.a4), "+r"(a.a5));
	return a;
}

/* Argument n (1-based, as the cookie numbers them); 0 for none. */
static __always_inline __u64 arg_at(const struct call_args *a, __u8 n)
{
	return n == 1 ? a->a1 : n == 2 ? a->a2 : n == 3 ? a->a3 : n == 4 ? a->a4 :
	       n == 5 ? a->a5 : 0;
}

static __always_inline struct tlstap_cookie read_cookie(struct pt_regs *ctx)
{
	__u64 raw = bpf_get_attach_cookie(ctx);
	struct tlstap_cookie ck;

	__builtin_memcpy(&ck, &raw, sizeof(ck));
	return ck;
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
 * SSL_read in LibreSSL, a send function jumping to its newer variant), or
 * the same buffer in the same direction (one library's compatibility layer
 * for another's API calling its own send). A TLS session tunnelled through
 * another (an HTTPS proxy) moves other bytes and is captured too.
 */
static __always_inline bool same_transfer(const struct call_frame *up, __u64 session, __u64 buf,
					  __u8 dir)
{
	return up->session == session || (up->buf == buf && up->ck.dir == dir);
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
					     __u64 session, __u64 buf, __u8 dir)
{
	struct call_frame *top;
	__u32 n = 0;
	int i, tail = -1;	/* -1: not looked at yet */

	for (i = 0; i < TLSTAP_MAX_NESTING; i++) {
		top = top_frame(cs);
		if (!top || top->sp > sp)
			break;
		if (top->sp == sp && !top->tail_returned && same_transfer(top, session, buf, dir)) {
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

#endif
