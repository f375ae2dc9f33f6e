/* Golden tests of the HTTP decoders: recordings in testdata/http/ against expected output, under any cutting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpdec.h"

/*
 * Recording format (NAME.rec), one event per line, '#' starts a comment:
 *   joined                        the collector joined the connection mid-stream
 *   limits HDR_BYTES HEADERS PREVIEW
 *   out TS "bytes" ["more"...]    the traced process sent these at TS (ns)
 *   in TS "bytes" ...             it received these
 *   gap out|in LEN                LEN bytes lost here
 *   close TS
 * Strings take \r \n \t \\ \" and \xHH (exactly two hex digits).
 *
 * Expected output (NAME.out) is what fmt_*() below print: a line per note,
 * frame and exchange, an exchange's headers, body previews and gRPC fields
 * indented under it. Regenerate with testdata/http/regen.sh.
 */

enum ev_kind { EV_DATA, EV_GAP, EV_CLOSE };

struct ev {
	enum ev_kind kind;
	int dir;
	uint64_t ts, len;
	uint8_t *data;
};

struct rec {
	char name[256];
	bool joined;
	struct httpdec_limits lim;
	struct ev *ev;
	size_t n, cap;
};

/* ---- reading recordings */

static int hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends the quoted strings of s to *out. Returns 0 or -EINVAL. */
static int unquote(const char *s, uint8_t **out, uint64_t *len)
{
	size_t cap = strlen(s) + 1;
	uint8_t *b = malloc(cap);
	uint64_t n = 0;
	int hi, lo;

	if (!b)
		return -ENOMEM;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '\n' || *s == '#')
			break;
		if (*s++ != '"')
			goto invalid;
		while (*s != '"') {
			if (!*s)
				goto invalid;
			if (*s != '\\') {
				b[n++] = (uint8_t)*s++;
				continue;
			}
			s++;
			switch (*s) {
			case 'r': b[n++] = '\r'; s++; break;
			case 'n': b[n++] = '\n'; s++; break;
			case 't': b[n++] = '\t'; s++; break;
			case '\\': b[n++] = '\\'; s++; break;
			case '"': b[n++] = '"'; s++; break;
			case 'x':
				if ((hi = hexv(s[1])) < 0 || (lo = hexv(s[2])) < 0)
					goto invalid;
				b[n++] = (uint8_t)(hi << 4 | lo);
				s += 3;
				break;
			default:
				goto invalid;
			}
		}
		s++;
	}
	*out = b;
	*len = n;
	return 0;
invalid:
	free(b);
	return -EINVAL;
}

static struct ev *push_ev(struct rec *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
		if (!r->ev)
			abort();
	}
	memset(&r->ev[r->n], 0, sizeof(r->ev[0]));
	return &r->ev[r->n++];
}

static void rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->ev[i].data);
	free(r->ev);
	memset(r, 0, sizeof(*r));
}

static int rec_load(const char *path, struct rec *r)
{
	char *line = NULL, word[16];
	size_t cap = 0;
	unsigned long long ts, len;
	int pos, lineno = 0, err = 0;
	FILE *f = fopen(path, "r");
	struct ev *e;
	const char *base;

	memset(r, 0, sizeof(*r));
	if (!f)
		return -errno;
	base = strrchr(path, '/');
	snprintf(r->name, sizeof(r->name), "%s", base ? base + 1 : path);
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%15s%n", word, &pos) != 1)
			continue;
		if (!strcmp(word, "joined")) {
			r->joined = true;
		} else if (!strcmp(word, "limits")) {
			if (sscanf(line + pos, "%zu %zu %zu", &r->lim.max_header_bytes,
				   &r->lim.max_headers, &r->lim.body_preview) != 3)
				err = -EINVAL;
		} else if (!strcmp(word, "out") || !strcmp(word, "in")) {
			int p2;

			e = push_ev(r);
			e->kind = EV_DATA;
			e->dir = !strcmp(word, "in");
			if (sscanf(line + pos, "%llu%n", &ts, &p2) != 1 ||
			    unquote(line + pos + p2, &e->data, &e->len))
				err = -EINVAL;
			e->ts = ts;
		} else if (!strcmp(word, "gap")) {
			char d[8];

			e = push_ev(r);
			e->kind = EV_GAP;
			if (sscanf(line + pos, "%7s %llu", d, &len) != 2)
				err = -EINVAL;
			e->dir = !strcmp(d, "in");
			e->len = len;
		} else if (!strcmp(word, "close")) {
			e = push_ev(r);
			e->kind = EV_CLOSE;
			if (sscanf(line + pos, "%llu", &ts) != 1)
				err = -EINVAL;
			e->ts = ts;
		} else {
			err = -EINVAL;
		}
		if (err) {
			fprintf(stderr, "%s:%d: bad line\n", path, lineno);
			break;
		}
	}
	free(line);
	fclose(f);
	return err;
}

/* ---- printing what the decoder reports */

struct out {
	char *buf;
	size_t len, cap;
	bool swapped;		/* directions were swapped when feeding: print them back */
	bool times;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		o->cap = o->cap ? o->cap * 2 + (size_t)n : 4096 + (size_t)n;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf)
			abort();
	}
}

static void out_escaped(struct out *o, const uint8_t *p, size_t n)
{
	size_t i;

	outf(o, "\"");
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			outf(o, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			outf(o, "%c", p[i]);
		else
			outf(o, "\\x%02x", p[i]);
	}
	outf(o, "\"");
}

static void out_str(struct out *o, const char *s)
{
	if (s)
		out_escaped(o, (const uint8_t *)s, strlen(s));
	else
		outf(o, "-");
}

static const char *dirname_(struct out *o, int dir)
{
	return (dir ^ o->swapped) ? "in" : "out";
}

static void on_exchange(void *ctx, const struct http_exchange *x)
{
	struct out *o = ctx;
	size_t i;

	outf(o, "exchange %s", x->proto);
	if (x->stream_id)
		outf(o, " stream=%u", x->stream_id);
	outf(o, " client=%s ", dirname_(o, x->client_dir));
	out_str(o, x->method);
	outf(o, " ");
	out_str(o, x->path);
	outf(o, " authority=");
	out_str(o, x->authority);
	outf(o, " status=%d req_body=%llu resp_body=%llu", x->status,
	     (unsigned long long)x->req_body_bytes, (unsigned long long)x->resp_body_bytes);
	if (o->times)
		outf(o, " start=%llu end=%llu", (unsigned long long)x->start_ns,
		     (unsigned long long)x->end_ns);
	outf(o, " %s\n", x->incomplete ? "incomplete" : "complete");
	for (i = 0; i < x->n_req_headers; i++) {
		outf(o, "  req ");
		out_str(o, x->req_headers[i].name);
		outf(o, ": ");
		out_str(o, x->req_headers[i].value);
		outf(o, "\n");
	}
	for (i = 0; i < x->n_resp_headers; i++) {
		outf(o, "  resp ");
		out_str(o, x->resp_headers[i].name);
		outf(o, ": ");
		out_str(o, x->resp_headers[i].value);
		outf(o, "\n");
	}
	for (i = 0; i < x->n_trailers; i++) {
		outf(o, "  trailer ");
		out_str(o, x->trailers[i].name);
		outf(o, ": ");
		out_str(o, x->trailers[i].value);
		outf(o, "\n");
	}
	if (x->req_body_len) {
		outf(o, "  req-body ");
		out_escaped(o, x->req_body, x->req_body_len);
		outf(o, "\n");
	}
	if (x->resp_body_len) {
		outf(o, "  resp-body ");
		out_escaped(o, x->resp_body, x->resp_body_len);
		outf(o, "\n");
	}
	if (x->grpc) {
		outf(o, "  grpc service=");
		out_str(o, x->grpc_service);
		outf(o, " method=");
		out_str(o, x->grpc_method);
		outf(o, " status=%d message=", x->grpc_status);
		out_str(o, x->grpc_message);
		outf(o, " req_msgs=%u resp_msgs=%u\n", x->req_msgs, x->resp_msgs);
	}
}

static void on_note(void *ctx, const char *note)
{
	outf(ctx, "note %s\n", note);
}

static void on_h2_frame(void *ctx, int dir, uint8_t type, uint8_t flags, uint32_t sid, uint32_t len)
{
	struct out *o = ctx;

	outf(o, "frame %s %s flags=0x%02x stream=%u len=%u\n", dirname_(o, dir),
	     httpdec_h2_frame_name(type), flags, sid, len);
}

static const struct httpdec_callbacks cbs = {
	.on_exchange = on_exchange, .on_note = on_note, .on_h2_frame = on_h2_frame,
};

/* ---- feeding a recording, cut in several ways */

enum cut { CUT_AS_RECORDED, CUT_BYTES, CUT_RANDOM, CUT_COALESCE };

struct how {
	enum cut cut;
	unsigned seed;
	bool swap;
	bool times;
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void feed_cut(struct httpdec *d, int dir, const uint8_t *p, size_t n, uint64_t ts,
		     const struct how *how, uint32_t *rs)
{
	size_t k;

	while (n) {
		if (how->cut == CUT_BYTES)
			k = 1;
		else if (how->cut == CUT_RANDOM)
			k = 1 + rnd(rs) % (rnd(rs) % 4 ? 16 : 4096);
		else
			k = n;
		if (k > n)
			k = n;
		httpdec_feed(d, dir, p, k, ts);
		p += k;
		n -= k;
	}
}

/* The decoder's whole output for r, fed as how says. Caller frees. */
static char *run(const struct rec *r, const struct how *how)
{
	struct out o = { .swapped = how->swap, .times = how->times };
	struct httpdec *d;
	uint32_t rs = how->seed * 2654435761u + 1;
	size_t i, j;
	uint8_t *acc;
	size_t alen;

	outf(&o, "%s", "");
	if (httpdec_new(&d, &cbs, &o, &r->lim, r->joined))
		abort();
	for (i = 0; i < r->n; i++) {
		const struct ev *e = &r->ev[i];
		int dir = e->dir ^ how->swap;

		if (e->kind == EV_GAP) {
			httpdec_gap(d, dir, e->len);
		} else if (e->kind == EV_CLOSE) {
			httpdec_close(d, e->ts);
		} else if (how->cut == CUT_COALESCE) {
			/* One feed for a run of chunks in one direction, as a bigger read would give. */
			alen = 0;
			for (j = i; j < r->n && r->ev[j].kind == EV_DATA && r->ev[j].dir == e->dir; j++)
				alen += r->ev[j].len;
			acc = malloc(alen ? alen : 1);
			alen = 0;
			for (j = i; j < r->n && r->ev[j].kind == EV_DATA && r->ev[j].dir == e->dir; j++) {
				memcpy(acc + alen, r->ev[j].data, r->ev[j].len);
				alen += r->ev[j].len;
			}
			httpdec_feed(d, dir, acc, alen, e->ts);
			free(acc);
			i = j - 1;
		} else {
			feed_cut(d, dir, e->data, e->len, e->ts, how, &rs);
		}
	}
	httpdec_close(d, r->n ? r->ev[r->n - 1].ts : 0);
	httpdec_free(d);
	return o.buf;
}

/* ---- the tests */

static const char *td_dir(void)
{
	const char *root = getenv("TLSTAP_TESTDATA");
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/http", root && *root ? root : "testdata");
	return buf;
}

/* testdata/http/NAME with its ".rec" replaced by suffix (or kept when suffix is NULL). */
static void mkpath(char *out, size_t size, const char *dir, const char *name, const char *suffix)
{
	int keep = (int)strlen(name) - (suffix ? 4 : 0);

	if (snprintf(out, size, "%s/%.*s%s", dir, keep, name, suffix ? suffix : "") >= (int)size)
		abort();
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = calloc(1, (size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static void load(const char *name, struct rec *r)
{
	char path[4096];

	mkpath(path, sizeof(path), td_dir(), name, NULL);
	assert_int_equal(rec_load(path, r), 0);
}

static void print_diff(const char *want, const char *got)
{
	size_t line = 1;

	while (*want && *want == *got) {
		if (*want == '\n')
			line++;
		want++;
		got++;
	}
	fprintf(stderr, "first difference at line %zu:\n  want: %.120s\n  got:  %.120s\n", line,
		want, got);
}

static void expect_same(const char *what, const char *want, const char *got)
{
	if (strcmp(want, got)) {
		fprintf(stderr, "%s:\n", what);
		print_diff(want, got);
	}
	assert_string_equal(want, got);
}

/* The recording against its .out file. */
static void test_golden(void **state)
{
	const char *name = *state;
	struct how how = { .cut = CUT_AS_RECORDED, .times = true };
	char path[4096], *want, *got;
	struct rec r;

	load(name, &r);
	mkpath(path, sizeof(path), td_dir(), name, ".out");
	want = slurp(path);
	if (!want)
		fail_msg("%s missing: run testdata/http/regen.sh", path);
	got = run(&r, &how);
	expect_same(name, want, got);
	free(want);
	free(got);
	rec_free(&r);
}

/* One byte at a time and in random cuts (many seeds), directions in their real order: same output. */
static void test_split_invariance(void **state)
{
	const char *name = *state;
	struct how ref = { .cut = CUT_AS_RECORDED, .times = true };
	struct how how = { .times = true };
	char *want, *got, what[512];
	struct rec r;
	unsigned seed;

	load(name, &r);
	want = run(&r, &ref);
	how.cut = CUT_BYTES;
	got = run(&r, &how);
	snprintf(what, sizeof(what), "%s one byte at a time", name);
	expect_same(what, want, got);
	free(got);
	how.cut = CUT_RANDOM;
	for (seed = 1; seed <= 64; seed++) {
		how.seed = seed;
		got = run(&r, &how);
		snprintf(what, sizeof(what), "%s random cuts, seed %u", name, seed);
		expect_same(what, want, got);
		free(got);
	}
	free(want);
	rec_free(&r);
}

/*
 * Whole runs of one direction in one feed: same exchanges (times aside,
 * since a merged read carries one time), and the traced process on the
 * other end (directions swapped): same exchanges, client side swapped.
 */
static void test_coalesce_and_swap(void **state)
{
	const char *name = *state;
	struct how ref = { .cut = CUT_AS_RECORDED };
	struct how co = { .cut = CUT_COALESCE };
	struct how sw = { .cut = CUT_AS_RECORDED, .swap = true, .times = true };
	struct how ref_t = { .cut = CUT_AS_RECORDED, .times = true };
	char *want, *got, what[512];
	struct rec r;

	load(name, &r);
	want = run(&r, &ref);
	got = run(&r, &co);
	snprintf(what, sizeof(what), "%s coalesced", name);
	expect_same(what, want, got);
	free(got);
	free(want);
	want = run(&r, &ref_t);
	got = run(&r, &sw);
	snprintf(what, sizeof(what), "%s seen from the other end", name);
	expect_same(what, want, got);
	free(got);
	free(want);
	rec_free(&r);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .rec files in testdata/http, sorted. */
static char **list_recordings(size_t *n)
{
	DIR *dir = opendir(td_dir());
	struct dirent *de;
	char **names = NULL;
	size_t len;

	*n = 0;
	if (!dir)
		return NULL;
	while ((de = readdir(dir))) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".rec"))
			continue;
		names = realloc(names, (*n + 1) * sizeof(*names));
		names[(*n)++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(names, *n, sizeof(*names), by_name);
	return names;
}

/* ---- modes for regen.sh */

static int regen(void)
{
	struct how how = { .cut = CUT_AS_RECORDED, .times = true };
	char **names, path[4096], *got;
	size_t n, i;
	struct rec r;
	FILE *f;

	names = list_recordings(&n);
	for (i = 0; i < n; i++) {
		mkpath(path, sizeof(path), td_dir(), names[i], NULL);
		if (rec_load(path, &r))
			return 1;
		got = run(&r, &how);
		mkpath(path, sizeof(path), td_dir(), names[i], ".out");
		f = fopen(path, "w");
		if (!f || fputs(got, f) < 0 || fclose(f)) {
			perror(path);
			return 1;
		}
		printf("wrote %s\n", path);
		free(got);
		rec_free(&r);
		free(names[i]);
	}
	free(names);
	return 0;
}

/*
 * Fuzz seeds: the fuzz targets' input format (see tests/fuzz/fuzz_http1.c),
 * one file per recording whose name starts with prefix.
 */
static int seeds(const char *outdir, const char *prefix)
{
	char **names, path[4096];
	size_t n, i, j, k, off;
	struct rec r;
	FILE *f;

	names = list_recordings(&n);
	for (i = 0; i < n; i++) {
		if (strncmp(names[i], prefix, strlen(prefix)))
			continue;
		mkpath(path, sizeof(path), td_dir(), names[i], NULL);
		if (rec_load(path, &r))
			return 1;
		mkpath(path, sizeof(path), outdir, names[i], "");
		f = fopen(path, "wb");
		if (!f)
			return 1;
		fputc(r.joined ? 1 : 0, f);
		for (j = 0; j < r.n; j++) {
			const struct ev *e = &r.ev[j];

			if (e->kind == EV_CLOSE)
				continue;
			if (e->kind == EV_GAP) {
				k = e->len > 64 ? 64 : e->len;
				fputc((e->dir ? 0x80 : 0) | 0x40 | (int)(k - 1), f);
				continue;
			}
			for (off = 0; off < e->len; off += k) {
				k = e->len - off > 0xffff ? 0xffff : e->len - off;
				if (k < 63) {
					fputc((e->dir ? 0x80 : 0) | (int)k, f);
				} else {
					fputc((e->dir ? 0x80 : 0) | 63, f);
					fputc((int)(k >> 8), f);
					fputc((int)(k & 0xff), f);
				}
				fwrite(e->data + off, 1, k, f);
			}
		}
		fclose(f);
		rec_free(&r);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}

int main(int argc, char **argv)
{
	struct CMUnitTest *tests;
	char **names, *tname;
	size_t n, i, k = 0;
	int rc;

	if (argc == 2 && !strcmp(argv[1], "--regen"))
		return regen();
	if (argc == 4 && !strcmp(argv[1], "--seeds"))
		return seeds(argv[2], argv[3]);
	names = list_recordings(&n);
	if (!n) {
		fprintf(stderr, "no recordings in %s\n", td_dir());
		return 1;
	}
	tests = calloc(3 * n, sizeof(*tests));
	for (i = 0; i < n; i++) {
		static const struct {
			const char *prefix;
			CMUnitTestFunction fn;
		} kinds[] = {
			{ "golden", test_golden },
			{ "split_invariance", test_split_invariance },
			{ "coalesce_and_swap", test_coalesce_and_swap },
		};
		size_t j;

		for (j = 0; j < 3; j++) {
			if (asprintf(&tname, "test_http_%s_%s", kinds[j].prefix, names[i]) < 0)
				return 1;
			tests[k].name = tname;
			tests[k].test_func = kinds[j].fn;
			tests[k].initial_state = names[i];
			k++;
		}
	}
	rc = _cmocka_run_group_tests("http_golden", tests, k, NULL, NULL);
	for (i = 0; i < k; i++)
		free((char *)tests[i].name);
	free(tests);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
