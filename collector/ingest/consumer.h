/* The ring reader's side of the BPF tables: records into the flow table, end positions of connections, exited processes forgotten. */
#ifndef TLSTAP_CONSUMER_H
#define TLSTAP_CONSUMER_H

#include <linux/types.h>
#include <bpf/libbpf.h>
#include "flows.h"
#include "mem_budget.h"
#include "rings.h"

/* Exited pids remembered between sweeps; a full list is swept at once. */
#define CONSUMER_MAX_EXITED	256

/* What the ring callback needs: the flow table, the BPF tables and the pids that exited. */
struct consumer {
	struct flow_table *ft;
	struct bpf_map *conns;		/* the BPF connection table (struct tlstap_session_key) */
	struct bpf_map *fd_sessions;	/* the BPF fd table, keyed by pid first too */
	struct rings *rings;
	const struct mem_budget *mb;
	/* Files that appeared later (TLSTAP_EV_EXEC, TLSTAP_EV_MMAP): handed
	 * to this hook, looked at between rounds, never here. */
	void (*on_file)(void *ctx, const void *data, size_t size);
	void *file_ctx;
	__u32 exited[CONSUMER_MAX_EXITED];
	int nexited;
};

/* The rings' record callback (ctx: the struct consumer). */
int consumer_on_record(void *ctx, void *data, size_t size);
/* Forgets what the BPF tables hold for the processes that exited since the last sweep. */
void consumer_sweep_exited(struct consumer *c);
/* At the stop: where every connection still in the BPF table got to. */
void consumer_note_all_conn_ends(struct consumer *c);

#endif
