/* The front end of discovery: finds the targets the options ask for, lists them, says what is traced. */
#ifndef TLSTAP_FIND_TARGETS_H
#define TLSTAP_FIND_TARGETS_H

#include <stddef.h>
#include "opts.h"
#include "targets.h"

/*
 * The targets of -p, -l, or (with neither) the whole system, each said with
 * pr_warn when it fails: 0, -EINVAL for bad usage, another negative errno.
 */
int find_targets(const struct tlstap_opts *o, struct target_list *tl);
/* --list-targets: each target, its version, placement and probe points, on stdout. */
void list_targets(const struct target_list *tl);
/* One target as --list-targets prints it, on stdout. */
void list_target(const struct target *t);
/* "tlstap: tracing N functions in M files (...)", once every probe is attached. */
void print_tracing(const struct tlstap_opts *o, int nfuncs, size_t nfiles);

#endif
