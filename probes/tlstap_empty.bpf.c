// SPDX-License-Identifier: GPL-2.0
/* Do-nothing probes for the benchmark floor: the cost of the traps alone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("uprobe")
int BPF_KPROBE(empty_entry)
{
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(empty_return)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
