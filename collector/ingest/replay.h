/* -r: a tlstap pcapng file read back into the flow table, as if it were live. */
#ifndef TLSTAP_REPLAY_H
#define TLSTAP_REPLAY_H

#include <stddef.h>
#include "flows.h"

/*
 * Feeds every data packet and connection end of path ("-" = stdin) to ft,
 * each settled as it comes (see flows_resolve).
 * Event times are wall-clock nanoseconds (give the printer a zero offset).
 * Returns the number of data packets, or -errno with a reason in err.
 */
long replay_file(const char *path, struct flow_table *ft, char *err, size_t errlen);

#endif
