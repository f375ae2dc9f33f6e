/* Every BPF link tlstap holds (libbpf links and uprobe_multi link fds), detached in one place. */
#ifndef TLSTAP_LINKS_H
#define TLSTAP_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>

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
/* Takes the link fd fd (closed on failure); ret: its probes are return probes. */
int links_push_fd(struct link_list *ll, int fd, bool ret);
void links_remove(struct link_list *ll, struct bpf_link *link);
/*
 * Detaches everything: the uprobe_multi links side by side (entries, then
 * returns), then the libbpf links newest first (entry probes before the
 * return probes they pair with, uprobes before the tracepoints attached
 * ahead of them).
 */
void links_destroy(struct link_list *ll);

#endif
