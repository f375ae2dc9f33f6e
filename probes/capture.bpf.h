/* A finished call's bytes to the ring: its connection found, its header filled in, its bytes emitted. */
#ifndef TLSTAP_CAPTURE_BPF_H
#define TLSTAP_CAPTURE_BPF_H

#include "tlstap.h"
#include "frames.bpf.h"
#include "maps.bpf.h"
#include "emit.bpf.h"
#include "sockets.bpf.h"

/*
 * The moved bytes of the call f (read from src, where they are now) go to
 * this CPU's ring, at the positions its connection's stream has reached.
 * may_guess: a call whose socket is unknown may have it inferred from the
 * thread's syscalls around it (memory BIOs); Go's calls never (a goroutine's
 * thread is not its own).
 */
static __always_inline void capture_call(struct call_frame *f, __u32 pid, __u32 tid, __u64 moved,
					 __u64 src, bool may_guess, struct tlstap_stats *st)
{
	struct tlstap_conn_state *cs;
	struct emit_ctx c = {};
	bool is_new;
	__u8 dir;

	c.st = st;
	dir = f->ck.dir & 1;
	cs = lookup_conn(pid, tid, dir, f, may_guess, &is_new);
	if (!cs)
		return;
	if (may_guess && !cs->sk_ino && dir == TLSTAP_DIR_OUT) {
		struct pending_write_val pw = {
			.key = { .pid = pid, .session = f->session },
			.min_len = moved < 65536 ? moved : 65536,
		};

		bpf_map_update_elem(&pending_write, &tid, &pw, BPF_ANY);
	}
	c.hdr.type = TLSTAP_EV_DATA;
	c.hdr.dir = dir;
	c.hdr.func_id = f->ck.func_id;
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
	c.hdr.netns = cs->netns;
	c.hdr.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(c.hdr.comm, sizeof(c.hdr.comm));
	c.src = src;
	c.iov = f->ck.buf_kind == TLSTAP_BUF_IOVEC ? src : 0;
	emit_call(&c, moved);
}

#endif
