/* The raw view: every ordered chunk, gap, open and close of the flow table, as printer records. */
#ifndef TLSTAP_RAW_VIEW_H
#define TLSTAP_RAW_VIEW_H

#include "flows.h"
#include "output.h"

/*
 * The flow callbacks, ctx = the struct output it prints to. Every chunk
 * counts as a data event (and -c counts them); its bytes are printed
 * unless the output's data_to_view says the decoded view shows them.
 */
extern const struct flow_callbacks raw_view_callbacks;

#endif
