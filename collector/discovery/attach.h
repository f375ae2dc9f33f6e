/* Attaches the entry and return programs to every probe point of every target. */
#ifndef TLSTAP_ATTACH_H
#define TLSTAP_ATTACH_H

#include <stddef.h>
#include <sys/types.h>
#include <bpf/libbpf.h>
#include "links.h"
#include "targets.h"

/* The programs attached: C libraries' at entry and as a return probe, and
 * at_rets libraries' (Go) at entry and at each RET, both plain uprobes. */
struct probe_progs {
	struct bpf_program *entry, *ret;
	struct bpf_program *go_entry, *go_ret;
};

/*
 * Probes each function of each target: entry and return. With pids, the
 * uprobes fire only in those processes; otherwise in every process.
 * Returns the number of functions probed, or a negative errno when none.
 */
int attach_targets(struct link_list *ll, const struct probe_progs *pp,
		   const struct target_list *tl, const pid_t *pids, int npids);

#endif
