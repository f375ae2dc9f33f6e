/* Each func_id's test before capture, for the BPF side's guards table. */
#ifndef TLSTAP_PROBE_GUARDS_H
#define TLSTAP_PROBE_GUARDS_H

#include <stddef.h>
#include <stdint.h>

/* Fills g[0..n) by func_id with a struct tlstap_guard's bytes each, from
 * every library's functions (zero: none). */
void probe_guards_fill(uint64_t *g, size_t n);

#endif
