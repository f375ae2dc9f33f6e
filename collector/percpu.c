/* Reads the BPF side's per-CPU counter maps, summed over every CPU. */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "percpu.h"

void percpu_sum_u64(struct bpf_map *map, __u64 *sum, size_t n)
{
	int ncpus = libbpf_num_possible_cpus(), cpu;
	__u64 *per;
	__u32 zero = 0;
	size_t i;

	memset(sum, 0, n * sizeof(*sum));
	if (ncpus <= 0)
		return;
	per = calloc((size_t)ncpus * n, sizeof(*per));
	if (!per)
		return;
	if (!bpf_map_lookup_elem(bpf_map__fd(map), &zero, per))
		for (cpu = 0; cpu < ncpus; cpu++)
			for (i = 0; i < n; i++)
				sum[i] += per[(size_t)cpu * n + i];
	free(per);
}

/* TLSTAP_STATS makes one __u64 per counter: the struct is summed as an array. */
#define STATS_COUNT_ONE(name, untraced)	+ 1
_Static_assert(sizeof(struct tlstap_stats) == sizeof(__u64) * (0 TLSTAP_STATS(STATS_COUNT_ONE)),
	       "tlstap_stats holds the __u64 counters of TLSTAP_STATS only");

void percpu_read_stats(struct bpf_map *map, struct tlstap_stats *sum)
{
	percpu_sum_u64(map, (__u64 *)sum, sizeof(*sum) / sizeof(__u64));
}
