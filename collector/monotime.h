/* CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() reads too: deadlines, delays, hold times. */
#ifndef TLSTAP_MONOTIME_H
#define TLSTAP_MONOTIME_H

#include <time.h>
#include <linux/types.h>

static inline __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static inline __u64 mono_ms(void)
{
	return mono_ns() / 1000000;
}

#endif
