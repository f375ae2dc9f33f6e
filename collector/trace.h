/* The live run: BPF programs loaded and attached, rings read into the pipeline until stopped, then drained and summed up. */
#ifndef TLSTAP_TRACE_H
#define TLSTAP_TRACE_H

#include <signal.h>
#include <stdio.h>
#include "opts.h"
#include "targets.h"

/*
 * Traces tl's targets as o says until *stop is set, -c or -d is reached,
 * the output's reader goes away or a -w file is done; 0 or -errno (said
 * on stderr).
 */
int trace_run(const struct tlstap_opts *o, struct target_list *tl,
	      const volatile sig_atomic_t *stop);

/* Flushes f; returns 1 when the reader went away, -errno on a write error. */
int trace_flush_output(FILE *f);

#endif
