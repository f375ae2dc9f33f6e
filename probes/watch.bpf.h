/* Files that appear after the start: a process runs or maps for execution a file not looked at yet. */
#ifndef TLSTAP_WATCH_BPF_H
#define TLSTAP_WATCH_BPF_H

#include "tlstap.h"
#include "maps.bpf.h"
#include "sockets.bpf.h"

#define PROT_EXEC	0x4
#define MAP_ANONYMOUS	0x20

/* Files reported or looked at already (the collector fills in what its
 * start-up search saw); LRU, so a file forgotten is only reported again. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TLSTAP_MAX_KNOWN_FILES);
	__type(key, struct tlstap_file_key);
	__type(value, __u8);
} known_files SEC(".maps");

/* --hold-new: the processes stopped, and since when (see TLSTAP_MAX_HELD). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TLSTAP_MAX_HELD);
	__type(key, __u32);
	__type(value, __u64);
} held SEC(".maps");

/* Per CPU: the current window and the reports made in it. */
struct watch_budget {
	__u64 window;
	__u64 sent;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct watch_budget);
} watch_budget SEC(".maps");

static __always_inline bool file_key(struct file *file, struct tlstap_file_key *k)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	if (!inode)
		return false;
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->pad = 0;
	k->ino = BPF_CORE_READ(inode, i_ino);
	return true;
}

/* A burst of new files costs the ring a bounded share: the rest are counted. */
static __always_inline bool watch_in_budget(__u64 now)
{
	struct watch_budget *b = bpf_map_lookup_elem(&watch_budget, &(__u32){ 0 });
	__u64 window = now >> TLSTAP_WATCH_WINDOW_SHIFT;

	if (!b)
		return false;
	if (b->window != window) {
		b->window = window;
		b->sent = 0;
	}
	if (b->sent >= TLSTAP_WATCH_BURST)
		return false;
	b->sent++;
	return true;
}

/*
 * Reports file k of the current process once: remembered only when the
 * report reached the ring, so a dropped one is reported at its next use.
 */
static __always_inline void report_file(__u16 type, const struct tlstap_file_key *k, __s32 fd)
{
	__u64 now = bpf_ktime_get_ns(), *busy;
	struct tlstap_file_event *e;
	struct tlstap_stats *st;
	bool hold = false;
	__u32 pid;

	if (bpf_map_lookup_elem(&known_files, k))
		return;
	busy = busy_slot();
	if (!busy || !enter_emitter(busy))
		return;
	e = watch_in_budget(now) ? RESERVE_ANY(sizeof(*e)) : NULL;
	if (!e) {
		st = cpu_stats();
		if (st)
			count(&st->watch_dropped);
		leave_emitter(busy);
		return;
	}
	pid = bpf_get_current_pid_tgid() >> 32;
	/* Held only once recorded where the collector's guard sees it. */
	if (hold_new && pid != self_pid)
		hold = !bpf_map_update_elem(&held, &pid, &now, BPF_ANY);
	e->type = type;
	e->held = hold;
	e->pid = pid;
	e->ts_ns = now;
	e->file = *k;
	e->fd = fd;
	e->pad2 = 0;
	/* At once: the sooner the collector attaches, the less is missed. */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	bpf_map_update_elem(&known_files, k, &(__u8){ 1 }, BPF_ANY);
	/* Only once the report is in the ring: its reader will resume it.
	 * Delivered on the way back to user space: after the mmap is made,
	 * before the new program's first instruction. */
	if (hold)
		bpf_send_signal(TLSTAP_SIGSTOP);
	leave_emitter(busy);
}

/* mmap(addr, len, prot, flags, fd, off) of a file for execution. */
static __always_inline void watch_mmap(struct pt_regs *regs)
{
	struct tlstap_file_key k;
	struct file *file;
	__s32 fd;

	if (!watch_files || !(PT_REGS_PARM3_CORE_SYSCALL(regs) & PROT_EXEC) ||
	    (PT_REGS_PARM4_CORE_SYSCALL(regs) & MAP_ANONYMOUS))
		return;
	fd = (__s32)PT_REGS_PARM5_CORE_SYSCALL(regs);
	if (fd < 0 || !wanted(bpf_get_current_pid_tgid() >> 32))
		return;
	file = fd_to_file(fd);
	if (file && file_key(file, &k))
		report_file(TLSTAP_EV_MMAP, &k, fd);
}

/* A process runs a file (after its comm and credentials are the new ones). */
static __always_inline void watch_exec(struct linux_binprm *bprm)
{
	struct tlstap_file_key k;
	struct file *file;

	if (!watch_files || !wanted(bpf_get_current_pid_tgid() >> 32))
		return;
	file = BPF_CORE_READ(bprm, file);
	if (file && file_key(file, &k))
		report_file(TLSTAP_EV_EXEC, &k, -1);
}

#endif
