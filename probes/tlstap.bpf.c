// SPDX-License-Identifier: GPL-2.0
/* Uprobes on TLS read/write functions that copy plaintext into per-CPU rings. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
/* The target architecture's syscall numbers (the Makefile points at its headers). */
#include <asm/unistd.h>
#include "tlstap.h"
#include "frames.bpf.h"
#include "maps.bpf.h"
#include "emit.bpf.h"
#include "sockets.bpf.h"
#include "guard.bpf.h"
#include "capture.bpf.h"
#include "watch.bpf.h"
#include "go.bpf.h"

/* An empty stack to create a thread's entry from (global data is a map value). */
static const struct call_stack empty_stack = {};

/*
 * Every probed function of every library: the cookie says which argument is
 * the session and which the buffer, and where a count will be stored.
 */
SEC("uprobe")
int tls_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 sp = PT_REGS_SP(ctx), session, buf;
	__u32 tid = (__u32)id, d, dead;
	struct tlstap_cookie ck;
	struct call_args args;
	struct call_stack *cs;
	struct call_frame *f;
	struct tlstap_stats *st;

	if (stopping || !wanted(id >> 32))
		return 0;
	cs = lookup_or_init(&active_calls, &tid, &empty_stack);
	st = cpu_stats();
	if (!cs)
		return 0;	/* no room: its return counts it as unmatched */
	ck = read_cookie(ctx);
	args = read_args(ctx);
	session = arg_at(&args, ck.session_arg);
	buf = arg_at(&args, ck.buf_arg);
	dead = pop_dead_frames(ctx, cs, sp, session, buf, ck.dir);
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
	f->session = session;
	f->buf = buf;
	f->ck = ck;
	f->outlen_ptr = ck.result == TLSTAP_RES_OUTLEN ? arg_at(&args, ck.outlen_arg) : 0;
	f->sk = 0;
	f->sk_ino = 0;
	f->fd = -1;
	f->tentative = 0;
	f->tail_returned = 0;
	f->foreign = !guard_passes(ck.func_id, &args, session);
	/* A call inside another that moves the same bytes: the outer captures
	 * (unless it failed its guard: then it captures nothing). */
	if (d > 0) {
		struct call_frame *up = &cs->f[(d - 1) & (TLSTAP_MAX_NESTING - 1)];

		f->skip = f->foreign || (!up->foreign && same_transfer(up, session, buf, ck.dir));
	} else {
		f->skip = f->foreign;
	}
	cs->depth = d + 1;
	return 0;
}

/*
 * The frame of the call returning with stack pointer sp (popped, with the
 * dead ones above it), or NULL for a return without its entry.
 */
static __always_inline struct call_frame *pop_return_frame(struct call_stack *stack, __u64 sp,
							   __u32 pid, struct tlstap_stats *st)
{
	struct call_frame *f, *up;
	__u32 dead;

	dead = stack ? pop_frames_below(stack, sp) : 0;
	if (dead && st)
		__sync_fetch_and_add(&st->unfinished_calls, dead);
	f = stack ? top_frame(stack) : NULL;
	if (!f || f->sp != sp) {
		/* A return without its entry (the entry probe was attached after
		 * the call began, or the call was nested too deep): untraced.
		 * Calls the filters leave out have no entry either. */
		if (stack && stack->overflow_sp == sp)
			stack->overflow_sp = 0;	/* counted as call_table_full */
		else if (st && wanted(pid))
			count(&st->unmatched_returns);
		if (stack && stack->depth == 0)
			stack->overflow_sp = 0;
		return NULL;
	}
	/* With no call left in flight, no refused one can be (the entry stays). */
	if (--stack->depth == 0)
		stack->overflow_sp = 0;
	/* A caller that tail-jumped here returns next, at once. */
	up = top_frame(stack);
	if (up && up->sp == sp)
		up->tail_returned = 1;
	return f;
}

/* How many bytes the call moved, by its result kind; 0 for none. */
static __always_inline __u64 moved_bytes(const struct call_frame *f, long ret,
					 struct tlstap_stats *st)
{
	__u64 moved = 0;

	switch (f->ck.result) {
	case TLSTAP_RES_OUTLEN:
		/* These functions return int: the upper half of the register is junk. */
		if ((int)ret <= 0)
			return 0;
		/* A count no call can move (1 TiB) is not believed: positions stay sane. */
		if (bpf_probe_read_user(&moved, sizeof(moved), (void *)f->outlen_ptr) ||
		    moved > (1ull << 40)) {
			if (st)
				__sync_fetch_and_add(&st->bad_len, 1);
			return 0;
		}
		return moved;
	case TLSTAP_RES_SSIZE:
		return ret > 0 ? ret : 0;
	default:
		return (int)ret > 0 ? (__u32)(int)ret : 0;
	}
}

static __always_inline int tls_return_body(struct pt_regs *ctx, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	struct call_stack *stack;
	struct call_frame *f;
	struct tlstap_stats *st = cpu_stats();
	__u64 moved;

	stack = bpf_map_lookup_elem(&active_calls, &tid);
	/* The entry's stack pointer: frames deeper than it are dead calls. */
	f = pop_return_frame(stack, PT_REGS_SP(ctx) - RET_SP_DELTA, pid, st);
	if (!f || f->skip)
		return 0;
	moved = moved_bytes(f, ret, st);
	if (moved)
		capture_call(f, pid, tid, moved, f->buf, true, st);
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

/* dup2/dup3 close their target fd, the second argument; arm64 has dup3 only. */
static __always_inline int sys_close(struct pt_regs *regs, long nr)
{
	__u64 id = bpf_get_current_pid_tgid(), *busy;
	__s32 fd;

	if (!bpf_map_lookup_elem(&traced_pids, &(__u32){ id >> 32 }))
		return 0;
	fd = nr == __NR_close ? (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs) :
				(__s32)PT_REGS_PARM2_CORE_SYSCALL(regs);
	busy = busy_slot();
	if (busy && enter_emitter(busy)) {
		on_close(id >> 32, fd);
		leave_emitter(busy);
	}
	return 0;
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
	__u64 id;
	__u32 tid, d;
	__s32 fd;
	int i;

	switch (nr) {
	case __NR_read: case __NR_readv: case __NR_recvfrom: case __NR_recvmsg:
		is_read = true;
		break;
	case __NR_write: case __NR_sendto:
		len_known = true;
		break;
	case __NR_writev: case __NR_sendmsg:
		break;
	case __NR_close:
#ifdef __NR_dup2
	case __NR_dup2:
#endif
	case __NR_dup3:
		return sys_close(regs, nr);
	case __NR_mmap:
		watch_mmap(regs);
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
		 * file). Outer frames of a nested call run over the same one,
		 * unless the call making it is no TLS transfer (plain NSPR I/O). */
		f = top_frame(stack);
		if (f && f->foreign)
			return 0;
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
	/* What follows serves memory-BIO programs only (pending_write entries
	 * exist only once one was seen). */
	if (!membio_seen)
		return 0;
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

/* A thread's entries, when it is gone (active_calls keeps one between calls). */
static __always_inline void forget_thread(__u32 tid)
{
	bpf_map_delete_elem(&active_calls, &tid);
	bpf_map_delete_elem(&last_read_fd, &tid);
	bpf_map_delete_elem(&pending_write, &tid);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	__u64 *busy;

	forget_thread(tid);
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&membio_pids, &pid);
	if (!bpf_map_lookup_elem(&traced_pids, &pid))
		return 0;
	bpf_map_delete_elem(&traced_pids, &pid);
	busy = busy_slot();
	if (busy && enter_emitter(busy)) {
		emit_ctrl(TLSTAP_EV_EXIT, pid, 0, NULL, 0);
		leave_emitter(busy);
	}
	return 0;
}

/*
 * A thread other than the leader that calls exec takes the process's id: its
 * own id goes without an exit of its own, so its entries go here. Files that
 * processes run after the start: probed if they hold TLS.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if ((__u32)old_pid != (__u32)bpf_get_current_pid_tgid())
		forget_thread((__u32)old_pid);
	watch_exec(bprm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
