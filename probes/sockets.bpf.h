/* Learning a TLS session's socket (from syscalls made inside or around its calls) and its connection. */
#ifndef TLSTAP_SOCKETS_BPF_H
#define TLSTAP_SOCKETS_BPF_H

#include "tlstap.h"
#include "frames.bpf.h"
#include "maps.bpf.h"
#include "emit.bpf.h"

#define AF_INET		2
#define AF_INET6	10
#define S_IFMT		00170000
#define S_IFSOCK	0140000
#define SOCK_STREAM	1

/* The current task's open file fd, or NULL. */
static __always_inline struct file *fd_to_file(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

/* The fd's socket, or NULL when the fd is not a socket. */
static __always_inline struct socket *fd_to_socket(int fd, __u64 *ino)
{
	struct file *file = fd_to_file(fd);
	umode_t mode;

	if (!file)
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

/* The socket's network namespace (its inode): two containers may use the
 * same addresses, and only this tells their connections apart. */
static __always_inline __u32 sock_netns(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline void note_traced(__u32 pid, __s32 fd, __u64 session, bool tentative)
{
	struct tlstap_fd_key fk = { .pid = pid, .fd = fd };
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
	cs->netns = sock_netns((struct sock *)f->sk);
	note_traced(pid, f->fd, f->session, f->tentative);
}

/*
 * The connection of this call: found by session; told its socket when it
 * did not know it (or only guessed it); replaced when the session's socket
 * changed (a freed SSL's address reused for a new connection). may_guess:
 * a call with no socket may take the one its thread read last (memory BIOs).
 */
/*
 * A new connection for key, with the next id: 0 or the map's error. A
 * function of its own, so its record is not on the stack of the probe that
 * also holds the emit context (512 bytes for a whole call chain).
 */
static __noinline int insert_conn(struct tlstap_session_key *key)
{
	struct tlstap_conn_state fresh = {};

	fresh.conn_id = __sync_fetch_and_add(&next_conn_id, 1);
	fresh.fd = -1;
	return bpf_map_update_elem(&conns, key, &fresh, BPF_ANY);
}

static __always_inline struct tlstap_conn_state *lookup_conn(__u32 pid, __u32 tid, __u8 dir,
						      struct call_frame *f, bool may_guess,
						      bool *is_new)
{
	struct tlstap_session_key key = { .pid = pid, .session = f->session };
	struct tlstap_conn_state *cs;
	struct tlstap_stats *st;
	__s32 *fdp;
	__u8 one = 1;

	*is_new = false;
	cs = bpf_map_lookup_elem(&conns, &key);
	if (may_guess && f->fd < 0 && (!cs || !cs->sk_ino)) {
		/* No socket syscall inside the call and none known: a memory BIO. */
		fdp = dir == TLSTAP_DIR_IN ? bpf_map_lookup_elem(&last_read_fd, &tid) : NULL;
		if (fdp) {
			frame_learn_fd(f, *fdp, true);
			bpf_map_delete_elem(&last_read_fd, &tid);
		} else if (!bpf_map_lookup_elem(&membio_pids, &pid)) {
			membio_seen = true;
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
		emit_ctrl(TLSTAP_EV_CLOSE, pid, cs->conn_id, cs->pos, cs->netns);
	}
	if (insert_conn(&key)) {
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

static __always_inline void on_close(__u32 pid, __s32 fd)
{
	struct tlstap_fd_key fk = { .pid = pid, .fd = fd };
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
	if (emit_ctrl(TLSTAP_EV_CLOSE, pid, cs->conn_id, cs->pos, cs->netns))
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

#endif
