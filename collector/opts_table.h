/* The table of tlstap's options: one row per option drives getopt_long, --help and validation. */
#ifndef TLSTAP_OPTS_TABLE_H
#define TLSTAP_OPTS_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include "opts.h"

struct opt_def;

/* Reads an option's value (NULL for a flag) into o: 0, OPTS_EXIT_OK, or -EINVAL with err set. */
typedef int opt_parse_fn(const struct opt_def *d, const char *arg, struct tlstap_opts *o,
			 char *err, size_t errlen);

/*
 * One option. The parser is its kind; the numbers mean what that kind says.
 * In what and help, {min}, {max} and {default} stand for the row's numbers
 * and {libs} for the TLS libraries tlstap knows.
 */
struct opt_def {
	const char *name;	/* the long name, without "--" */
	int short_name;		/* 0: long only */
	const char *arg;	/* the value's name in --help; NULL: a flag */
	opt_parse_fn *parse;
	size_t at, size;	/* the field of struct tlstap_opts it sets (OPT_FIELD) */
	size_t seen;		/* OPT_SEEN(field): a bool set when the option is given; 0: none */
	size_t count;		/* lists: offsetof the int that counts the entries */
	int64_t min;		/* numbers: the range */
	uint64_t max;		/* lists: the most entries; durations: the most seconds */
	int64_t def;		/* the default, when not 0 */
	uint64_t scale;		/* numbers: the field holds the value times this (0: 1) */
	size_t len;		/* strings checked by what: the longest */
	const char *what;	/* a bad value: "--NAME: 'ARG' is not WHAT" */
	const char *empty;	/* an empty string: "--NAME: empty EMPTY" */
	const char *items;	/* lists: what the entries are, "--NAME: at most MAX ITEMS" */
	const char *const *choices;	/* choices: the names, by the value they set */
	const char *section;	/* --help: the heading printed before this option */
	const char *help;	/* --help: the text; lines after a '\n' are indented; NULL: left out */
};

#define OPT_FIELD(f)	.at = offsetof(struct tlstap_opts, f), .size = sizeof(((struct tlstap_opts *)0)->f)
/* Offset + 1, so that 0 says "no such flag". */
#define OPT_SEEN(f)	.seen = offsetof(struct tlstap_opts, f) + 1
#define OPT_DEFS_MAX	40

extern const struct opt_def opt_defs[];
extern const size_t opt_defs_n;
/* --help around the options: the head takes {libs} and {probes}, the tail is printed as it is. */
extern const char opts_help_head[], opts_help_tail[];

/* The kinds of option. */
opt_parse_fn opt_flag, opt_count, opt_number, opt_signed, opt_duration, opt_choice, opt_string,
	opt_strings, opt_label, opt_name, opt_hex, opt_pids, opt_user, opt_help, opt_version;

#endif
