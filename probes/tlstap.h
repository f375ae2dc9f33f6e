/* Event layouts and constants shared by the BPF programs and the collector. */
#ifndef TLSTAP_H
#define TLSTAP_H

/* Bytes of plaintext in the largest ring record; larger calls are split. */
#define TLSTAP_CHUNK_MAX	16384
/* A single TLS call of up to this many chunks (2 GiB, more than SSL_write's
 * int can say) is captured whole; bytes beyond are counted as lost. */
#define TLSTAP_MAX_CHUNKS	131072
/* TLS calls nested on one thread (a TLS connection through a TLS proxy);
 * a power of two (frames are indexed with a mask). */
#define TLSTAP_MAX_NESTING	4
/* Ring space data records leave free, so connection ends still fit. */
#define TLSTAP_CTRL_HEADROOM	(64 * 1024)
/* The smallest ring (-B) that holds the headroom and a few whole records. */
#define TLSTAP_MIN_RING_KIB	128
_Static_assert(TLSTAP_MIN_RING_KIB * 1024 >= TLSTAP_CTRL_HEADROOM + 3 * (TLSTAP_CHUNK_MAX + 256),
	       "the smallest ring must hold the control headroom and whole data records");
/*
 * Each CPU writes first to a fast ring, a quarter of -B and at most this big,
 * and only when that one is full to its -B ring (until the collector has
 * read that empty: emit.bpf.h). A record lands where its ring was written
 * one lap earlier: in a ring larger than the caches that memory is cold, and
 * reserving and filling it cost the traced call about half its time
 * (measured: tls_return 1660-1710 ns with 32 MiB rings, 800-1030 ns with a
 * 4 MiB fast ring, tiny responses). The large ring still absorbs the
 * collector's turns off the CPU. A quarter of -B under TLSTAP_MIN_RING_KIB:
 * no fast ring.
 */
#define TLSTAP_FAST_RING_MAX_KIB	4096
/* Limits both sides share: the collector never keeps a second number. */
#define TLSTAP_COMM_LEN		16	/* a task's comm, NUL included */
#define TLSTAP_MAX_PID_FILTER	64	/* pids -p may name */
/* --cgroup/--container: cgroups whose processes (and their descendants')
 * are traced, and how deep below the root an ancestor is looked for. */
#define TLSTAP_MAX_CGROUP_FILTER	1024
#define TLSTAP_CGROUP_MAX_LEVEL		32
/* Connections tracked at once: the BPF conns table, the collector's flows. */
#define TLSTAP_MAX_CONNS	65536
/* Threads with a call stack (active_calls): each live thread that made a
 * traced TLS call keeps its entry until its id ends (exit, or exec). */
#define TLSTAP_MAX_THREADS	65536

enum tlstap_event_type {
	TLSTAP_EV_DATA = 1,	/* plaintext chunk: struct tlstap_data_event + data */
	TLSTAP_EV_CLOSE = 2,	/* the traced process closed the connection's fd */
	TLSTAP_EV_EXIT = 3,	/* a traced process exited: all its connections end */
	TLSTAP_EV_EXEC = 4,	/* a process runs a file not looked at yet: struct tlstap_file_event */
	TLSTAP_EV_MMAP = 5,	/* a process maps such a file for execution (dlopen, ld.so) */
};

enum tlstap_dir {
	TLSTAP_DIR_OUT = 0,	/* the traced process sent it */
	TLSTAP_DIR_IN = 1,	/* the traced process received it */
};

/*
 * How a probed function says how many bytes moved (the result kind of its
 * probe's cookie).
 * COUNT: an int return value is the count (<= 0: nothing moved).
 * OUTLEN: a positive int return means success, and the count is a size_t
 * stored through the cookie's outlen_arg (OpenSSL's _ex functions return 1,
 * its internal ones > 0).
 * SSIZE: an ssize_t return value is the count.
 */
enum tlstap_result {
	TLSTAP_RES_COUNT = 0,
	TLSTAP_RES_OUTLEN = 1,
	TLSTAP_RES_SSIZE = 2,
};

/*
 * Where a probed function's bytes are (the buffer kind of its cookie).
 * FLAT: buf_arg points at them.
 * IOVEC: buf_arg points at an array of { pointer, 32-bit length } pairs, 16
 * bytes apart (NSPR's PRIOVec; struct iovec's size_t length read as its low
 * half); the count is how many bytes of their concatenation moved. Up to
 * TLSTAP_MAX_IOV pairs are read; bytes beyond them are counted unreadable.
 */
enum tlstap_buf {
	TLSTAP_BUF_FLAT = 0,
	TLSTAP_BUF_IOVEC = 1,
};
#define TLSTAP_MAX_IOV		16	/* NSPR's PR_MAX_IOVECTOR_SIZE */
#define TLSTAP_IOV_STRIDE	16

/* Arguments are numbered from 1; the BPF side reads the first five. */
#define TLSTAP_MAX_ARG		5

/*
 * The BPF cookie of every uprobe: which function fired and where its
 * session, buffer, length and result are, so one entry program and one
 * return program serve every probed function of every library. Both sides
 * copy it to and from the cookie's __u64 as bytes.
 */
struct tlstap_cookie {
	__u8 func_id;		/* index in the collector's probe table */
	__u8 dir;		/* enum tlstap_dir */
	__u8 session_arg;	/* 1..TLSTAP_MAX_ARG: the SSL * or session handle */
	__u8 buf_arg;		/* the plaintext buffer */
	__u8 len_arg;		/* the requested length (not read by the probes) */
	__u8 outlen_arg;	/* RES_OUTLEN: the size_t * of the count; else 0 */
	__u8 result;		/* enum tlstap_result */
	__u8 buf_kind;		/* enum tlstap_buf */
};
_Static_assert(sizeof(struct tlstap_cookie) == sizeof(__u64), "the cookie is one __u64");

/* func_ids: a cookie's __u8; the guards table has one slot for each. */
#define TLSTAP_FUNC_IDS		256

/*
 * A test a probed call passes before it is captured, for functions that also
 * serve other traffic (NSS's PR_Write serves every NSPR file descriptor, its
 * SSL layer only some): one per func_id, all zero for none. A call that fails
 * it is followed to its return but captures nothing, and the syscalls made
 * inside it name no connection.
 * back_ref: the session is the layer whose private data points back at it,
 * *(*(session + priv_off) + back_off) == session.
 * skip_arg, skip_mask: a call whose argument skip_arg (1..TLSTAP_MAX_ARG) has
 * one of these bits set moves no bytes (a peek).
 */
struct tlstap_guard {
	__u8 back_ref;
	__u8 skip_arg;
	__u16 priv_off;
	__u16 back_off;
	__u16 skip_mask;
};
/* The guards table holds each as a __u64 (the generated skeleton knows no
 * struct of ours): both sides copy it as bytes, like the cookie. */
_Static_assert(sizeof(struct tlstap_guard) == sizeof(__u64), "a guard is one __u64");

/* Flags of a data event. */
#define TLSTAP_F_CALL_START	(1u << 0)	/* first chunk of a TLS call */
#define TLSTAP_F_CALL_END	(1u << 1)	/* last captured chunk of a call */
#define TLSTAP_F_NEW_CONN	(1u << 2)	/* first event of this connection */

struct tlstap_addr {
	__u16 family;		/* AF_INET, AF_INET6, AF_UNIX, 0 = unknown */
	__u16 lport;		/* host byte order */
	__u16 rport;		/* host byte order */
	__u16 pad;
	__u8 laddr[16];		/* network byte order; IPv4 in the first 4 */
	__u8 raddr[16];
};

struct tlstap_data_event {
	__u16 type;		/* TLSTAP_EV_DATA */
	__u8 dir;		/* enum tlstap_dir */
	__u8 func_id;		/* index in the collector's probe table; names the library too */
	__u8 pad[4];
	__u32 flags;		/* TLSTAP_F_* */
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 uid;
	__s32 fd;		/* -1 when not learnt yet */
	__u64 conn_id;		/* unique per connection for this run */
	__u64 pos;		/* offset of data[0] in its (conn, dir) stream */
	__u32 len;		/* bytes in data[] */
	__u32 pad2;
	/*
	 * Bytes that follow data[] in the stream but are not in any record:
	 * first lost ones (unreadable memory, a call beyond 2 GiB), then the
	 * rest of the call left out by the snaplen.
	 */
	__u64 lost;
	__u64 skipped;
	/* Who sent it: the process's cgroup (v2) id, and the network namespace
	 * (inode) of the socket, 0 while the socket is not known. */
	__u64 cgroup_id;
	__u32 netns;
	__u32 pad3;
	struct tlstap_addr addr;
	char comm[TLSTAP_COMM_LEN];
	__u8 data[];
};
/* Records stay 8-byte aligned in the ring; the header is read in place. */
_Static_assert(sizeof(struct tlstap_data_event) % 8 == 0, "data header keeps 8-byte alignment");
_Static_assert(sizeof(struct tlstap_data_event) == 152, "data header layout (both sides)");

/* The BPF connection table (map "conns"), which the collector also reads:
 * where each stream has got to when a process exits or tlstap stops. */
struct tlstap_session_key {
	__u32 pid;
	__u32 pad;
	__u64 session;		/* the TLS library's session handle (SSL *, ...) */
};

/* The connection a TLS session runs over, and its stream positions. */
struct tlstap_conn_state {
	__u64 conn_id;
	__u64 sk_ino;		/* 0: socket not known yet */
	__u64 pos[2];		/* per enum tlstap_dir */
	__s32 fd;
	__u8 tentative;		/* socket inferred around the call (memory BIOs) */
	__u8 pad[3];
	struct tlstap_addr addr;
	__u32 netns;		/* the socket's network namespace inode, 0: not known */
	__u32 pad2;
};

/* The key of the BPF map "fd_sessions": (pid, fd) -> session, to see close()
 * of a traced connection. The collector deletes an exited pid's entries. */
struct tlstap_fd_key {
	__u32 pid;
	__s32 fd;
};
/* The collector finds an exited process's entries by a key's first field. */
_Static_assert(__builtin_offsetof(struct tlstap_session_key, pid) == 0 &&
	       __builtin_offsetof(struct tlstap_fd_key, pid) == 0, "keys start with the pid");

/* TLSTAP_EV_CLOSE and TLSTAP_EV_EXIT. */
struct tlstap_ctrl_event {
	__u16 type;
	__u16 pad;
	__u32 pid;
	__u64 ts_ns;
	__u64 conn_id;		/* CLOSE only */
	__u64 end_pos[2];	/* CLOSE only: bytes the streams reached, per dir */
	__u64 cgroup_id;	/* of the process that closed or exited */
	__u32 netns;		/* CLOSE only: the socket's network namespace, 0 if not known */
	__u32 pad2;
};
_Static_assert(sizeof(struct tlstap_ctrl_event) == 56, "control event layout (both sides)");

/*
 * A file that appeared after the start (TLSTAP_EV_EXEC, TLSTAP_EV_MMAP):
 * the collector looks at it through the process's own /proc entries and
 * probes it if it holds a TLS library. Sent once per file (the BPF map
 * "known_files", keyed by struct tlstap_file_key), at most
 * TLSTAP_WATCH_BURST per CPU per 2^TLSTAP_WATCH_WINDOW_SHIFT ns.
 */
struct tlstap_file_key {
	__u32 dev;		/* the kernel's encoding: major << 20 | minor */
	__u32 pad;
	__u64 ino;
};

struct tlstap_file_event {
	__u16 type;
	__u16 held;		/* --hold-new: the process was sent SIGSTOP */
	__u32 pid;
	__u64 ts_ns;		/* CLOCK_MONOTONIC, when the kernel ran or mapped it */
	struct tlstap_file_key file;
	__s32 fd;		/* MMAP: the descriptor mapped; EXEC: -1 */
	__u32 pad2;
};
#define TLSTAP_SIGSTOP			19
#define TLSTAP_WATCH_BURST		32
#define TLSTAP_WATCH_WINDOW_SHIFT	24	/* about 16.8 ms */
#define TLSTAP_MAX_KNOWN_FILES		65536
/*
 * --hold-new: processes stopped at once (map "held": pid -> CLOCK_MONOTONIC
 * ns of the stop). When it is full, a new file's process is not held. The
 * collector resumes each within TLSTAP_HOLD_MAX_MS whatever else it is
 * doing, and every one when it ends.
 */
#define TLSTAP_MAX_HELD			1024
#define TLSTAP_HOLD_MAX_MS		2000

/*
 * Go's crypto/tls (amd64, register ABI, Go 1.17 and later): the layouts the
 * probes read, the same in every release from 1.17 to 1.22 (checked in
 * crypto/tls/conn.go, net/net.go, net/fd_posix.go, internal/poll/fd_unix.go
 * and fd_mutex.go):
 * - runtime.g begins with its stack { lo, hi uintptr };
 * - tls.Conn begins with conn net.Conn, an interface { itab, data };
 * - *net.TCPConn is struct { conn { fd *netFD } }: its first word;
 * - netFD begins with pfd poll.FD, which is { fdmu fdMutex (state uint64,
 *   rsema, wsema uint32: 16 bytes), Sysfd int, ... } and 56 bytes long;
 *   then family int (56) and sotype int (64).
 * A connection is attributed only when the socket found at Sysfd is an inet
 * stream socket of the family netFD says: anything else (a tls.Conn over a
 * wrapper, a pipe, another tls.Conn) is captured without an address.
 */
#define TLSTAP_GO_CONN_IFACE_DATA	8	/* tls.Conn.conn's data word */
#define TLSTAP_GO_NETFD_SYSFD		16
#define TLSTAP_GO_NETFD_FAMILY		56
#define TLSTAP_GO_NETFD_SOTYPE		64
/* Go calls in progress on one goroutine (a tls.Conn inside another). */
#define TLSTAP_GO_NESTING		2
/* Goroutines with a call in progress that are tracked at once (LRU: one
 * that never returns is forgotten, not leaked). Every idle keep-alive or
 * HTTP/2 connection of a Go server parks a goroutine inside Read, so this
 * is sized for busy servers (about 200 bytes each: 12 MiB). */
#define TLSTAP_GO_MAX_CALLS		65536

/*
 * Per-CPU counters of what could not be delivered, read by the collector:
 * X(name, untraced) for each, declared once here. untraced 1 marks the calls
 * not traced at all (their bytes unknown, positions not moved), which the
 * summary adds up as "untraced calls".
 */
#define TLSTAP_STATS(X) \
	X(ring_full_events, 0)	/* data records that found the ring full */ \
	X(ring_full_bytes, 0)	/* plaintext bytes in those records */ \
	/* Data records in the -B ring: the fast ring was full, or the -B \
	 * ring not yet read empty since. Not lost. */ \
	X(overflow_records, 0) \
	X(overflow_bytes, 0)	/* plaintext bytes in those records */ \
	X(snap_bytes, 0)	/* bytes not captured because of snaplen */ \
	X(unreadable_bytes, 0)	/* user memory that could not be read */ \
	X(oversize_bytes, 0)	/* bytes of calls beyond 2 GiB */ \
	X(ctrl_lost, 0)		/* close/exit events that found the ring full */ \
	X(watch_dropped, 0)	/* new files not reported: too many at once, or ring full */ \
	X(call_table_full, 1)	/* per-thread table full, or nested too deep */ \
	X(bad_len, 1)		/* byte count of an _ex call unreadable */ \
	X(conn_table_full, 1)	/* no room for the connection's state */ \
	/* Calls seen at one end only: begun before the probes were attached, \
	 * or left without returning (longjmp); each costs that call alone. */ \
	X(unmatched_returns, 1)	/* a return probe without its entry */ \
	X(unfinished_calls, 1)	/* an entry whose return never came */ \
	X(go_unattributed, 0)	/* Go calls over no TCP socket tlstap could verify: no address */ \
	X(go_stack_moves, 0)	/* Go calls during which their goroutine's stack moved */

#define TLSTAP_STATS_FIELD(name, untraced)	__u64 name;
struct tlstap_stats {
	TLSTAP_STATS(TLSTAP_STATS_FIELD)
};

#endif /* TLSTAP_H */
