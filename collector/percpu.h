/* Reads the BPF side's per-CPU counter maps, summed over every CPU. */
#ifndef TLSTAP_PERCPU_H
#define TLSTAP_PERCPU_H

#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "tlstap.h"

/*
 * Slot 0 of a per-CPU array whose value is n __u64 counters, each summed
 * over every CPU into sum[0..n-1] (zeros if it cannot be read).
 */
void percpu_sum_u64(struct bpf_map *map, __u64 *sum, size_t n);
/* The "stats" map: every counter of TLSTAP_STATS, summed over CPUs. */
void percpu_read_stats(struct bpf_map *map, struct tlstap_stats *sum);

#endif
