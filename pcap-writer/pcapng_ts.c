/* Converts pcapng timestamps in an interface's units to nanoseconds, exactly and without overflow. */
#include <errno.h>
#include "pcapng_ts.h"

#define NSEC_PER_SEC	1000000000u

/* if_tsresol exponents whose unit (10^-n or 2^-n s) we can convert exactly enough. */
#define TSRESOL_MAX_POW10	19
#define TSRESOL_MAX_POW2	63

int pcapng_ts_resol(struct pcapng_ts_unit *u, uint8_t tsresol)
{
	u->pow2 = tsresol & 0x80;
	u->exp = tsresol & 0x7f;
	return u->exp > (u->pow2 ? TSRESOL_MAX_POW2 : TSRESOL_MAX_POW10) ? -EINVAL : 0;
}

int pcapng_ts_to_ns(const struct pcapng_ts_unit *u, uint64_t ts, uint64_t *ns)
{
	static const uint64_t pow10[TSRESOL_MAX_POW10 + 1] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
		100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
		1000000000000ull, 10000000000000ull, 100000000000000ull,
		1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
		1000000000000000000ull, 10000000000000000000ull,
	};
	unsigned __int128 v, off;

	if (u->pow2)
		v = ((unsigned __int128)ts * NSEC_PER_SEC) >> u->exp;
	else if (u->exp <= 9)
		v = (unsigned __int128)ts * pow10[9 - u->exp];
	else
		v = ts / pow10[u->exp - 9];
	if (u->offset_s >= 0) {
		v += (unsigned __int128)u->offset_s * NSEC_PER_SEC;
	} else {
		/* -(x + 1) + 1: no overflow for INT64_MIN. */
		off = ((unsigned __int128)(uint64_t)(-(u->offset_s + 1)) + 1) * NSEC_PER_SEC;
		if (v < off)
			return -ERANGE;
		v -= off;
	}
	if (v > UINT64_MAX)
		return -ERANGE;
	*ns = (uint64_t)v;
	return 0;
}
