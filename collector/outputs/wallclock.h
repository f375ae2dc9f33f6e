/* Turns the BPF side's monotonic timestamps into wall-clock time without overflow. */
#ifndef TLSTAP_WALLCLOCK_H
#define TLSTAP_WALLCLOCK_H

#include <stdint.h>
#include <linux/types.h>

/*
 * mono_ns + mono_to_real_ns, saturated to [0, INT64_MAX]: timestamps in
 * ring records and in pcapng files given to -r are not to be trusted, and a
 * signed overflow would be undefined behaviour.
 */
static inline __s64 wallclock_ns(__u64 mono_ns, __s64 mono_to_real_ns)
{
	__s64 m = mono_ns > (__u64)INT64_MAX ? INT64_MAX : (__s64)mono_ns;
	__s64 r;

	if (__builtin_add_overflow(m, mono_to_real_ns, &r))
		return mono_to_real_ns > 0 ? INT64_MAX : 0;
	return r < 0 ? 0 : r;
}

#endif
