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
#define TLSTAP_COMM_LEN		16
#define TLSTAP_MAX_PID_FILTER	64

enum tlstap_event_type {
	TLSTAP_EV_DATA = 1,	/* plaintext chunk: struct tlstap_data_event + data */
	TLSTAP_EV_CLOSE = 2,	/* the traced process closed the connection's fd */
	TLSTAP_EV_EXIT = 3,	/* a traced process exited: all its connections end */
};

enum tlstap_dir {
	TLSTAP_DIR_OUT = 0,	/* the traced process sent it */
	TLSTAP_DIR_IN = 1,	/* the traced process received it */
};

enum tlstap_lib {
	TLSTAP_LIB_OPENSSL = 1,
	TLSTAP_LIB_GNUTLS = 2,
};

/*
 * How the return value of a probed function says how many bytes moved.
 * RET_COUNT: an int return value is the count (<= 0: nothing moved).
 * RET_EX: returns 1 on success and stores the count through the 4th argument.
 * RET_SSIZE: an ssize_t return value is the count (GnuTLS).
 * RET_EX5: as RET_EX with the count through the 5th argument (OpenSSL 3.3+
 * ssl_write_internal).
 * RET_EX accepts any positive int return: OpenSSL's internal functions
 * return > 0 on success, the _ex wrappers 1.
 */
enum tlstap_ret_style {
	TLSTAP_RET_COUNT = 0,
	TLSTAP_RET_EX = 1,
	TLSTAP_RET_SSIZE = 2,
	TLSTAP_RET_EX5 = 3,
};

/*
 * The BPF cookie of every uprobe: which probe-table entry fired, so one entry
 * program and one return program serve every probed function.
 */
#define TLSTAP_COOKIE(func_id, lib, dir, style) \
	((__u64)(func_id) | ((__u64)(lib) << 8) | ((__u64)(dir) << 16) | ((__u64)(style) << 24))
#define TLSTAP_COOKIE_FUNC(c)	((__u8)((c) & 0xff))
#define TLSTAP_COOKIE_LIB(c)	((__u8)(((c) >> 8) & 0xff))
#define TLSTAP_COOKIE_DIR(c)	((__u8)(((c) >> 16) & 0xff))
#define TLSTAP_COOKIE_STYLE(c)	((__u8)(((c) >> 24) & 0xff))

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
	__u8 func_id;		/* index in the collector's probe table */
	__u8 lib;		/* enum tlstap_lib */
	__u8 pad[3];
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
	struct tlstap_addr addr;
	char comm[TLSTAP_COMM_LEN];
	__u8 data[];
};

/* The BPF connection table (map "conns"), which the collector also reads:
 * where each stream has got to when a process exits or tlstap stops. */
struct tlstap_session_key {
	__u32 pid;
	__u32 pad;
	__u64 session;		/* SSL * or gnutls_session_t */
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
};

/* TLSTAP_EV_CLOSE and TLSTAP_EV_EXIT. */
struct tlstap_ctrl_event {
	__u16 type;
	__u16 pad;
	__u32 pid;
	__u64 ts_ns;
	__u64 conn_id;		/* CLOSE only */
	__u64 end_pos[2];	/* CLOSE only: bytes the streams reached, per dir */
};

/*
 * Per-CPU counters of what could not be delivered, read by the collector:
 * X(name, untraced) for each, declared once here. untraced 1 marks the calls
 * not traced at all (their bytes unknown, positions not moved), which the
 * summary adds up as "untraced calls".
 */
#define TLSTAP_STATS(X) \
	X(ring_full_events, 0)	/* data records that found the ring full */ \
	X(ring_full_bytes, 0)	/* plaintext bytes in those records */ \
	X(snap_bytes, 0)	/* bytes not captured because of snaplen */ \
	X(unreadable_bytes, 0)	/* user memory that could not be read */ \
	X(oversize_bytes, 0)	/* bytes of calls beyond 2 GiB */ \
	X(ctrl_lost, 0)		/* close/exit events that found the ring full */ \
	X(call_table_full, 1)	/* per-thread table full, or nested too deep */ \
	X(bad_len, 1)		/* byte count of an _ex call unreadable */ \
	X(conn_table_full, 1)	/* no room for the connection's state */ \
	/* Calls seen at one end only: begun before the probes were attached, \
	 * or left without returning (longjmp); each costs that call alone. */ \
	X(unmatched_returns, 1)	/* a return probe without its entry */ \
	X(unfinished_calls, 1)	/* an entry whose return never came */

#define TLSTAP_STATS_FIELD(name, untraced)	__u64 name;
struct tlstap_stats {
	TLSTAP_STATS(TLSTAP_STATS_FIELD)
};

#endif /* TLSTAP_H */
