/* The BPF side's maps, load-time filters and per-CPU helpers (stats, ring, busy count). */
#ifndef TLSTAP_MAPS_BPF_H
#define TLSTAP_MAPS_BPF_H

#include "tlstap.h"
#include "frames.bpf.h"

/* Filters, set by the collector before load. */
const volatile bool filter_pid = false;
const volatile bool filter_uid = false;
const volatile __u32 targ_uid = 0;
const volatile bool filter_comm = false;
const volatile char targ_comm[TLSTAP_COMM_LEN] = {};
/* --cgroup/--container: only processes in or below a cgroup of cgroup_filter. */
const volatile bool filter_cgroup = false;
const volatile __u32 snaplen = 0;	/* 0: no limit */
/*
 * The rings (TLSTAP_FAST_RING_MAX_KIB says why two): rings[cpu] is a CPU's
 * fast ring, rings[over_base + cpu] its -B ring; with over_base 0, rings[cpu]
 * is its only one. Data records keep each below its limit, so connection
 * ends still fit. The collector is woken only once a ring holds its wakeup
 * bytes (it also polls on a timer): a wakeup per record would cost the
 * traced program more.
 */
const volatile __u32 over_base = 0;
const volatile __u64 fast_limit = 0;
const volatile __u64 over_limit = 0;
const volatile __u64 fast_wakeup = 0;
const volatile __u64 over_wakeup = 0;
/* Report files that processes run or map later (watch.bpf.h). */
const volatile bool watch_files = false;
/* --hold-new: a process that reports a file stops until the collector has
 * looked at it (and sends SIGCONT). */
const volatile bool hold_new = false;
/* tlstap's own process: never held (it would wait for itself). */
const volatile __u32 self_pid = 0;

/* Each func_id's test before capture (a struct tlstap_guard's bytes), from
 * the collector's library table. */
const volatile __u64 guards[TLSTAP_FUNC_IDS] = {};

__u64 next_conn_id = 1;
/* Set by the collector when it stops: no new calls, no counting of their returns. */
bool stopping = false;
/* Set once a process used memory BIOs (membio_pids): until then, the
 * socket syscalls of threads outside TLS calls need no map lookup. */
bool membio_seen = false;

struct pending_write_val {
	struct tlstap_session_key key;
	__u64 min_len;		/* the ciphertext write is at least this long */
};

/*
 * A thread's calls in progress. Its entry stays, empty, between calls and
 * goes when the thread exits, or execs when it is not the leader (its id
 * ends then: sched_process_exit, sched_process_exec): an insert and a delete
 * per call cost each TLS call about 200 ns more, under the bucket locks.
 * Allocated as threads come, not preallocated for the most there may be.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TLSTAP_MAX_THREADS);
	__type(key, __u32);		/* tid */
	__type(value, struct call_stack);
} active_calls SEC(".maps");

/* LRU: sessions a process never frees cannot fill the table for good. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TLSTAP_MAX_CONNS);
	__type(key, struct tlstap_session_key);
	__type(value, struct tlstap_conn_state);
} conns SEC(".maps");

/* (pid, fd) -> session, to see close() of a traced connection. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TLSTAP_MAX_CONNS);	/* one per connection */
	__type(key, struct tlstap_fd_key);
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

/*
 * Go moves goroutine stacks (copying them to grow or shrink), so a return
 * probe, which rewrites the return address on the stack, would crash the
 * program; the collector probes every RET of the function instead. A
 * goroutine can change threads inside a call: its state is keyed by the
 * goroutine (g, in r14 under the register ABI), not the thread.
 */
struct go_key {
	__u32 pid;
	__u32 pad;
	__u64 g;
};

/* One call in progress; f.sp is RSP at entry. Stack copying keeps the
 * distance from the stack's top (hi) of every frame: depth pairs a RET
 * with its entry wherever the stack is by then. */
struct go_frame {
	struct call_frame f;
	__u64 lo, hi;		/* the goroutine's stack at entry */
	__u64 depth;		/* hi - RSP at entry */
};

struct go_calls_val {
	__u32 n;
	__u32 pad;
	struct go_frame fr[TLSTAP_GO_NESTING];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TLSTAP_GO_MAX_CALLS);
	__type(key, struct go_key);
	__type(value, struct go_calls_val);
} go_calls SEC(".maps");

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

/* cgroup v2 ids (the collector adds containers' cgroups as they appear). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TLSTAP_MAX_CGROUP_FILTER);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tlstap_stats);
} stats SEC(".maps");

/* One or two rings per CPU (over_base); the collector sizes the outer
 * array and fills it. */
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

/* key's entry in map, created from init if there is none; NULL when the
 * map is full. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static __always_inline struct tlstap_stats *cpu_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

/* This CPU's fast ring, or its -B ring (NULL when it has one ring only). */
static __always_inline void *cpu_ring(bool over)
{
	__u32 i = bpf_get_smp_processor_id();

	if (over) {
		if (!over_base)
			return NULL;
		i += over_base;
	}
	return bpf_map_lookup_elem(&rings, &i);
}

/*
 * A record of SIZE bytes (a constant) for control records, which may use the
 * headroom: in the ring data records go to (emit.bpf.h), else in the other.
 * NULL when both are full.
 */
#define RESERVE_ANY(SIZE)							\
	({									\
		void *fast_ = cpu_ring(false), *over_ = cpu_ring(true);	\
		void *rec_ = NULL;						\
		if (over_ && bpf_ringbuf_query(over_, BPF_RB_AVAIL_DATA))	\
			rec_ = bpf_ringbuf_reserve(over_, (SIZE), 0);		\
		if (!rec_ && fast_)						\
			rec_ = bpf_ringbuf_reserve(fast_, (SIZE), 0);		\
		if (!rec_ && over_)						\
			rec_ = bpf_ringbuf_reserve(over_, (SIZE), 0);		\
		rec_;								\
	})

static __always_inline void count(__u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
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

/* The current task's cgroup, or one of its ancestors, is in cgroup_filter. */
static __always_inline bool cgroup_matches(void)
{
	__u64 id = bpf_get_current_cgroup_id();
	int level;

	if (bpf_map_lookup_elem(&cgroup_filter, &id))
		return true;
	for (level = 0; level < TLSTAP_CGROUP_MAX_LEVEL; level++) {
		id = bpf_get_current_ancestor_cgroup_id(level);
		if (!id)
			return false;	/* below the task's own level */
		if (bpf_map_lookup_elem(&cgroup_filter, &id))
			return true;
	}
	return false;
}

static __always_inline bool wanted(__u32 pid)
{
	if (filter_pid && !bpf_map_lookup_elem(&pid_filter, &pid))
		return false;
	if (filter_uid && (__u32)bpf_get_current_uid_gid() != targ_uid)
		return false;
	if (filter_comm && !comm_matches())
		return false;
	if (filter_cgroup && !cgroup_matches())
		return false;
	return true;
}

#endif
