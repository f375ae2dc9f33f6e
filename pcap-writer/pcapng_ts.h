/* The timestamps of a pcapng interface, in its units (if_tsresol, if_tsoffset), as nanoseconds since the epoch. */
#ifndef TLSTAP_PCAPNG_TS_H
#define TLSTAP_PCAPNG_TS_H

#include <stdbool.h>
#include <stdint.h>

struct pcapng_ts_unit {
	bool pow2;		/* the unit is 2^-exp s, else 10^-exp s */
	uint8_t exp;
	int64_t offset_s;	/* if_tsoffset: added to every timestamp */
};

/* 10^-6 s: an interface without if_tsresol. */
#define PCAPNG_TS_UNIT_DEFAULT	{ .pow2 = false, .exp = 6, .offset_s = 0 }

/* Sets the unit from an if_tsresol byte; -EINVAL for a unit finer than 64 bits can count. */
int pcapng_ts_resol(struct pcapng_ts_unit *u, uint8_t tsresol);

/* ts in u's units as nanoseconds since the epoch; -ERANGE if outside 0..UINT64_MAX. */
int pcapng_ts_to_ns(const struct pcapng_ts_unit *u, uint64_t ts, uint64_t *ns);

#endif
