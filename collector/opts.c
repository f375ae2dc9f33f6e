/* Parses and validates tlstap's command line as the option table says; never touches the system. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "opts.h"
#include "opts_table.h"
#include "probe_table.h"

#include "version.h"

/* The column where --help's option texts start. */
#define HELP_INDENT	27

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Appends s[0..n) to out (size cap, holding *len bytes), cut to fit. */
static void append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (n > cap - 1 - *len)
		n = cap - 1 - *len;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
}

/* Whether the n bytes at key are the placeholder lit. */
#define IS(key, n, lit)	((n) == sizeof(lit) - 1 && !memcmp(key, lit, n))

/*
 * The value of the placeholder key (n bytes, "{...}") for row d, written
 * into num. The libraries' part comes from their table entries.
 */
static const char *placeholder(const char *key, size_t n, const struct opt_def *d, char *num, size_t cap)
{
	if (IS(key, n, "{libs}"))
		return probe_libs_join(num, cap, offsetof(struct tls_lib, display), ", ", " or ");
	if (IS(key, n, "{probes}"))
		return probe_libs_join(num, cap, offsetof(struct tls_lib, help), ",\n", "\nand ");
	if (d && IS(key, n, "{min}"))
		snprintf(num, cap, "%lld", (long long)d->min);
	else if (d && IS(key, n, "{max}"))
		snprintf(num, cap, "%llu", (unsigned long long)d->max);
	else if (d && IS(key, n, "{default}"))
		snprintf(num, cap, "%lld", (long long)d->def);
	else
		return NULL;
	return num;
}

/* tmpl into out (size cap) with its placeholders filled in for row d (NULL: none of the row's). */
static void expand(char *out, size_t cap, const char *tmpl, const struct opt_def *d)
{
	const char *p = tmpl, *end, *v;
	char num[512];
	size_t len = 0;

	out[0] = '\0';
	while (*p) {
		end = *p == '{' ? strchr(p, '}') : NULL;
		v = end ? placeholder(p, end + 1 - p, d, num, sizeof(num)) : NULL;
		if (v) {
			append(out, cap, &len, v, strlen(v));
			p = end + 1;
			continue;
		}
		end = strchr(p + 1, '{');
		if (!end)
			end = p + strlen(p);
		append(out, cap, &len, p, end - p);
		p = end;
	}
}

/* "  -p, --pid PID[,PID...]   only these..." with the text's further lines indented. */
static void usage_option(FILE *f, const struct opt_def *d)
{
	char names[64], text[1024];
	const char *line, *nl;

	snprintf(names, sizeof(names), "%c%c%c --%s%s%s", d->short_name ? '-' : ' ',
		 d->short_name ? d->short_name : ' ', d->short_name ? ',' : ' ', d->name,
		 d->arg ? " " : "", d->arg ? d->arg : "");
	fprintf(f, "  %-*s ", HELP_INDENT - 3, names);
	expand(text, sizeof(text), d->help, d);
	for (line = text; (nl = strchr(line, '\n')); line = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - line), line, HELP_INDENT, "");
	fprintf(f, "%s\n", line);
}

void opts_usage(FILE *f)
{
	char text[1024];
	size_t i;

	expand(text, sizeof(text), opts_help_head, NULL);
	fputs(text, f);
	for (i = 0; i < opt_defs_n; i++) {
		if (opt_defs[i].section) {
			expand(text, sizeof(text), opt_defs[i].section, &opt_defs[i]);
			fprintf(f, "%s\n", text);
		}
		if (opt_defs[i].help)
			usage_option(f, &opt_defs[i]);
	}
	fputs(opts_help_tail, f);
}

/* "--NAME: 'ARG' is not WHAT", with the row's numbers in WHAT. */
static int bad_value(const struct opt_def *d, const char *arg, char *err, size_t errlen)
{
	char what[128];

	expand(what, sizeof(what), d->what, d);
	return fail(err, errlen, "--%s: '%s' is not %s", d->name, arg, what);
}

static void *field(const struct opt_def *d, struct tlstap_opts *o)
{
	return (char *)o + d->at;
}

/* Stores v in the row's field, whatever its width (bool, int, uint32_t, uint64_t...). */
static void store(const struct opt_def *d, struct tlstap_opts *o, uint64_t v)
{
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	memcpy(field(d, o), d->size == 1 ? (void *)&v8 : d->size == 2 ? (void *)&v16 :
	       d->size == 4 ? (void *)&v32 : (void *)&v, d->size < 8 ? d->size : 8);
}

int opt_flag(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	store(d, o, 1);
	return 0;
}

int opt_count(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	(*(int *)field(d, o))++;
	return 0;
}

/* A whole decimal number in [min, max], nothing else around it. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int opt_number(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_u64(arg, (uint64_t)d->min, d->max, &v))
		return bad_value(d, arg, err, errlen);
	store(d, o, v * (d->scale ? d->scale : 1));
	return 0;
}

/* A signed number in range, as strtol reads it. */
int opt_signed(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < d->min || v > (long)d->max)
		return bad_value(d, arg, err, errlen);
	store(d, o, (uint64_t)v);
	return 0;
}

/* Seconds, decimals allowed, into milliseconds rounded up (never down to 0: "unlimited"). */
int opt_duration(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	double secs;
	char *end;

	/* Plain decimals only: strtod would also take "0x10", " 1" and "inf". */
	if (!*arg || strspn(arg, "0123456789.") != strlen(arg))
		return bad_value(d, arg, err, errlen);
	errno = 0;
	secs = strtod(arg, &end);
	if (errno || *end || !isfinite(secs) || secs <= 0 || secs > (double)d->max)
		return bad_value(d, arg, err, errlen);
	store(d, o, (uint64_t)ceil(secs * 1000.0));
	return 0;
}

/* One of the names in d->choices: the field gets its index. */
int opt_choice(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	char what[128];
	size_t i, n, len = 0;

	for (n = 0; d->choices[n]; n++)
		if (!strcmp(arg, d->choices[n])) {
			store(d, o, n);
			return 0;
		}
	/* "auto or exported", "one of text, json, hex, none" */
	what[0] = '\0';
	if (n > 2)
		append(what, sizeof(what), &len, "one of ", 7);
	for (i = 0; i < n; i++) {
		if (i)
			append(what, sizeof(what), &len, n > 2 ? ", " : " or ", n > 2 ? 2 : 4);
		append(what, sizeof(what), &len, d->choices[i], strlen(d->choices[i]));
	}
	return fail(err, errlen, "--%s: '%s' is not %s", d->name, arg, what);
}

/* A string that must not be empty; the field points into argv. */
int opt_string(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	if (!*arg)
		return fail(err, errlen, "--%s: empty %s", d->name, d->empty);
	memcpy(field(d, o), &arg, sizeof(arg));
	return 0;
}

/* Lowercase hex digits, d->min to d->max of them (a container id's prefix); the field points into argv. */
int opt_hex(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	size_t n = strlen(arg);

	if (n < (size_t)d->min || n > d->max || strspn(arg, "0123456789abcdef") != n)
		return bad_value(d, arg, err, errlen);
	memcpy(field(d, o), &arg, sizeof(arg));
	return 0;
}

/* A repeatable string: the field is an array of d->max pointers into argv, counted at d->count. */
int opt_strings(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	int *n = (int *)((char *)o + d->count);

	if (d->what && (!*arg || strlen(arg) > d->len))
		return bad_value(d, arg, err, errlen);
	if (!*arg)
		return fail(err, errlen, "--%s: empty %s", d->name, d->empty);
	if (*n >= (int)d->max)
		return fail(err, errlen, "--%s: at most %d %s", d->name, (int)d->max, d->items);
	((const char **)field(d, o))[(*n)++] = arg;
	return 0;
}

/*
 * A label copied into every JSON line and pcapng file (--host, --run-id):
 * printable ASCII only, so a log pipeline or a terminal never meets a
 * control byte or a broken UTF-8 sequence; at most d->len bytes.
 */
int opt_label(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)arg;
	size_t n = strlen(arg);

	/* The value is not echoed: it may hold the very bytes refused. */
	if (!n || n > d->len)
		return fail(err, errlen, "--%s: must be 1 to %zu characters", d->name, d->len);
	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return fail(err, errlen, "--%s: only printable ASCII characters, no control bytes",
				    d->name);
	memcpy(field(d, o), &arg, sizeof(arg));
	return 0;
}

/* A command name, copied into the field (a char array the kernel's size). */
int opt_name(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	if (!*arg || strlen(arg) >= d->size)
		return fail(err, errlen, "--%s: '%s' must be 1 to %d characters (the kernel's command name)",
			    d->name, arg, (int)d->size - 1);
	strcpy(field(d, o), arg);
	return 0;
}

/* Process ids, comma-separated, repeatable: at most d->max in all. */
int opt_pids(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	char buf[1024], *tok, *next;
	uint64_t v;

	if (strlen(arg) >= sizeof(buf))
		return fail(err, errlen, "--%s: list too long", d->name);
	strcpy(buf, arg);
	/* Split by hand: strtok would let "1,,2" and ",1" through. */
	for (tok = buf; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (!*tok)
			return fail(err, errlen, "--%s: empty entry in '%s'", d->name, arg);
		if (parse_u64(tok, 1, INT_MAX, &v))
			return fail(err, errlen, "--%s: '%s' is not a process id", d->name, tok);
		if (o->npids >= (int)d->max)
			return fail(err, errlen, "--%s: at most %d processes", d->name, (int)d->max);
		o->pids[o->npids++] = (pid_t)v;
	}
	return 0;
}

/* A user id, or a user name looked up in the password database. */
int opt_user(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	struct passwd *pw;
	uint64_t v;

	if (parse_u64(arg, 0, UINT32_MAX - 1, &v)) {
		pw = getpwnam(arg);
		if (!pw)
			return fail(err, errlen, "--%s: no user '%s'", d->name, arg);
		v = pw->pw_uid;
	}
	store(d, o, v);
	return 0;
}

int opt_help(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	opts_usage(stdout);
	return OPTS_EXIT_OK;
}

int opt_version(const struct opt_def *d, const char *arg, struct tlstap_opts *o, char *err, size_t errlen)
{
	printf("tlstap %s\n", TLSTAP_VERSION);
	return OPTS_EXIT_OK;
}

/* What getopt_long returns for row i: its short name, or past every char for a long-only one. */
#define LONG_ONLY(i)	(0x100 + (int)(i))

/* getopt_long's tables from opt_defs: lo (OPT_DEFS_MAX + 1) and shorts (3 * OPT_DEFS_MAX + 2). */
static void getopt_tables(struct option *lo, char *shorts)
{
	const struct opt_def *d;
	size_t i, n = 0;

	shorts[n++] = ':';	/* a missing value is ':', not '?' */
	for (i = 0; i < opt_defs_n; i++) {
		d = &opt_defs[i];
		lo[i] = (struct option){ d->name, d->arg ? required_argument : no_argument, NULL,
					 d->short_name ? d->short_name : LONG_ONLY(i) };
		if (d->short_name) {
			shorts[n++] = (char)d->short_name;
			if (d->arg)
				shorts[n++] = ':';
		}
	}
	lo[i] = (struct option){ 0 };
	shorts[n] = '\0';
}

/* The row of what getopt_long returned; NULL for '?' (unknown) and anything else. */
static const struct opt_def *def_of(int c)
{
	size_t i;

	if (c >= LONG_ONLY(0))
		return c < LONG_ONLY(opt_defs_n) ? &opt_defs[c - LONG_ONLY(0)] : NULL;
	for (i = 0; i < opt_defs_n; i++)
		if (opt_defs[i].short_name && opt_defs[i].short_name == c)
			return &opt_defs[i];
	return NULL;
}

/* Why getopt refused an option: unknown, or a flag given a value. */
static int bad_option(const char *arg, int opt, char *err, size_t errlen)
{
	size_t len, i;

	if (!strncmp(arg, "--", 2)) {
		len = strcspn(arg + 2, "=");
		for (i = 0; i < opt_defs_n; i++)
			if (strlen(opt_defs[i].name) == len && !strncmp(opt_defs[i].name, arg + 2, len) &&
			    !opt_defs[i].arg)
				return fail(err, errlen, "option '--%s' takes no value", opt_defs[i].name);
		return fail(err, errlen, "unknown option '%.*s'", (int)(len + 2), arg);
	}
	if (opt > 0x20 && opt < 0x7f)
		return fail(err, errlen, "unknown option '-%c'", opt);
	return fail(err, errlen, "unknown option '%.64s'", arg);
}

/* Options that only make sense together, or not at all. */
static int check_combinations(struct tlstap_opts *o, char *err, size_t errlen)
{
	if ((o->rotate_bytes || o->rotate_secs || o->max_files) && !o->write_path)
		return fail(err, errlen, "-C, -G and -W need -w FILE");
	if (o->max_files && !o->rotate_bytes && !o->rotate_secs)
		return fail(err, errlen, "-W needs -C or -G");
	if (o->write_path && !strcmp(o->write_path, "-")) {
		if (o->out_given && o->out != OUT_NONE)
			return fail(err, errlen, "-w - writes pcapng to stdout: no -o output can go there too");
		if (o->rotate_bytes || o->rotate_secs)
			return fail(err, errlen, "-w - cannot rotate: -C and -G need a file name");
	}
	if (o->hold_new && o->nlibs)
		return fail(err, errlen, "--hold-new: with -l, no file that appears later is probed");
	if (o->list_targets && o->duration_ms && o->nlibs)
		return fail(err, errlen, "--list-targets -d lists files that appear later: not with -l");
	if (o->list_targets && o->hold_new)
		return fail(err, errlen, "--hold-new holds programs until they are probed: not with --list-targets");
	if (o->write_path && !o->out_given)
		o->out = OUT_NONE;	/* like tcpdump -w: the file, nothing on the terminal */
	if (o->read_path && (o->write_path || o->npids || o->nlibs || o->has_uid || o->has_comm ||
			     o->list_targets || o->empty_probes || o->snaplen || o->duration_ms ||
			     o->cgroup_path || o->container))
		return fail(err, errlen,
			    "-r replays a file: tracing options (-w, -p, -l, --uid, --comm, --cgroup, -s, -d, ...) do not apply");
	return OPTS_RUN;
}

int opts_parse(int argc, char **argv, struct tlstap_opts *o, char *err, size_t errlen)
{
	struct option lo[OPT_DEFS_MAX + 1];
	char shorts[3 * OPT_DEFS_MAX + 2];
	const struct opt_def *d;
	size_t i;
	int c, rc;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < opt_defs_n; i++)
		if (opt_defs[i].def)
			store(&opt_defs[i], o, (uint64_t)opt_defs[i].def);
	err[0] = '\0';
	getopt_tables(lo, shorts);
	optind = 0;	/* full reset: opts_parse may run more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == ':')
			return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		d = def_of(c);
		if (!d)
			return bad_option(argv[optind - 1], optopt, err, errlen);
		rc = d->parse(d, d->arg ? optarg : NULL, o, err, errlen);
		if (rc)
			return rc;
		if (d->seen)
			*(bool *)((char *)o + d->seen - 1) = true;
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	return check_combinations(o, err, errlen);
}

size_t opts_max_memory_bytes(const struct tlstap_opts *o)
{
	return (size_t)o->max_memory_mib << 20;
}

/* Ring size in bytes: a power of two, at least one page. */
uint64_t opts_ring_bytes(const struct tlstap_opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	uint64_t want = o->buffer_kib * 1024, size = 4096;

	if (!o->buffer_kib) {
		want = OPTS_RING_TOTAL_KIB * 1024ull / (uint64_t)(cpus > 0 ? cpus : 1);
		if (want < OPTS_DEFAULT_BUFFER_KIB * 1024ull)
			want = OPTS_DEFAULT_BUFFER_KIB * 1024ull;
	}
	while (size < want)
		size <<= 1;
	return size;
}
