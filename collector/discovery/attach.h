/* Attaches the entry and return programs to every probe point of every target. */
#ifndef TLSTAP_ATTACH_H
#define TLSTAP_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <bpf/libbpf.h>
#include "targets.h"

/* Every link tlstap holds, freed in one place. */
struct link_list {
	struct bpf_link **v;
	size_t n, cap;
	/* uprobe_multi links: each an fd, closed to detach */
	struct link_fd {
		int fd;
		bool ret;	/* of return probes */
	} *fds;
	size_t nfds, fcap;
};

int links_push(struct link_list *ll, struct bpf_link *link);
void links_remove(struct link_list *ll, struct bpf_link *link);
void links_destroy(struct link_list *ll);

/*
 * Probes each function of each target: entry and return. With pids, the
 * uprobes fire only in those processes; otherwise in every process.
 * Returns the number of functions probed, or a negative errno when none.
 */
int attach_targets(struct link_list *ll, struct bpf_program *entry, struct bpf_program *ret,
		   const struct target_list *tl, const pid_t *pids, int npids);

#endif
