/* Many uprobes of one file in one BPF link (kernel 6.6+), which also detaches them in one go. */
#ifndef TLSTAP_UPROBE_MULTI_H
#define TLSTAP_UPROBE_MULTI_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

/*
 * Whether this kernel has uprobe_multi links. Each uprobe detaches in about
 * 0.1 s, one after another, when it has a link of its own; a link with them
 * all detaches them together. TLSTAP_NO_UPROBE_MULTI=1 says no (tests).
 */
bool uprobe_multi_supported(void);

/* Before obj is loaded: makes every uprobe and uretprobe program of it
 * attachable through uprobe_multi links when the kernel has them (they then
 * attach only that way). */
int uprobe_multi_prepare(struct bpf_object *obj);

/*
 * One link for cnt probes of prog in the file at path (offsets in the file,
 * each with its BPF cookie), for process pid (<= 0: every one); retprobe:
 * on return. Returns the link's fd (closing it detaches them all) or a
 * negative errno; one bad offset fails the whole link.
 */
int uprobe_multi_attach(struct bpf_program *prog, const char *path, const __u64 *offsets,
			const __u64 *cookies, __u32 cnt, pid_t pid, bool retprobe);

#endif
