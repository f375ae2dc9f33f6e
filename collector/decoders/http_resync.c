/* Feeding a parser that may lose its place: bytes go to a scan window until a start is found, then are replayed. */
#include <stdint.h>
#include <string.h>
#include "http_resync.h"
#include "http_scan.h"

/* Bytes kept while looking for a start after a join or a gap. */
#define RESYNC_WINDOW	(64 * 1024)

static void wait_none(struct http_resync *r)
{
	memset(&r->wait, 0, sizeof(r->wait));
}

void http_resync_init(struct http_resync *r, struct http_sink *s, unsigned want, size_t max_line,
		      const struct http_resync_ops *ops, void *arg)
{
	r->lost = false;
	r->ops = ops;
	r->arg = arg;
	r->stopped = &s->stopped;
	r->work = &s->work;
	http_buf_init(&r->win, RESYNC_WINDOW, &s->mem);
	wait_none(r);
	r->want = want;
	r->max_line = max_line;
}

void http_resync_free(struct http_resync *r)
{
	http_buf_free(&r->win);
}

void http_resync_reset(struct http_resync *r)
{
	http_buf_reset(&r->win);
	wait_none(r);
}

/* Adds input to the window until a match starts it. Returns the bytes taken and the kind found (0: none). */
static size_t push(struct http_resync *r, const uint8_t *p, size_t n, uint64_t ts, int *kind)
{
	size_t used = 0, k, off;

	*kind = 0;
	while (used < n) {
		k = r->win.max - r->win.len;
		if (k > n - used)
			k = n - used;
		if (http_buf_append(&r->win, p + used, k, ts))
			http_buf_reset(&r->win);
		used += k;
		if (r->win.len < r->win.max && !http_scan_worth(&r->wait, r->win.len, p + used - k, k))
			continue;
		*kind = http_scan(r->win.p, r->win.len, r->want, false, r->max_line, &off, &r->wait,
				  r->work);
		http_buf_consume(&r->win, off);
		if (*kind) {
			wait_none(r);
			return used;
		}
		/* Full of one open candidate: it was not one. */
		if (r->win.len == r->win.max) {
			http_buf_consume(&r->win, 1);
			wait_none(r);
		}
	}
	return used;
}

/* Appends w's bytes from off, run by run so each keeps its time, to dst. */
static void append_runs(struct http_buf *dst, const struct http_buf *w, size_t off)
{
	size_t i, b, e;

	for (i = 0; i < w->nmarks; i++) {
		b = w->marks[i].off;
		e = i + 1 < w->nmarks ? w->marks[i + 1].off : w->len;
		if (e <= off)
			continue;
		if (b < off)
			b = off;
		http_buf_append(dst, w->p + b, e - b, w->marks[i].ts);
	}
}

/*
 * Input comes from two places in turn: a window found to begin with a
 * match (its bytes came first), then the caller's. The parser may lose its
 * place again inside either; the loop never recurses.
 */
static void drive(struct http_resync *r, struct http_buf *w, const uint8_t *p, size_t n, uint64_t ts)
{
	struct http_buf nw;
	const uint8_t *cp;
	size_t wpos = 0, cn, used, i, end;
	uint64_t cts;
	bool from_w;
	int kind;

	while (!*r->stopped) {
		if (wpos < w->len) {
			for (i = w->nmarks; i > 1 && w->marks[i - 1].off > wpos; i--)
				;
			end = i < w->nmarks ? w->marks[i].off : w->len;
			cp = w->p + wpos;
			cn = end - wpos;
			cts = w->marks[i - 1].ts;
			from_w = true;
		} else if (n) {
			cp = p;
			cn = n;
			cts = ts;
			from_w = false;
		} else {
			break;
		}
		kind = 0;
		if (r->lost) {
			used = push(r, cp, cn, cts, &kind);
		} else {
			used = r->ops->run(r->arg, cp, cn, cts);
			/* Lost again at once, on what the scan took for a start: skip that byte or loop forever. */
			if (!used && r->lost)
				used = 1;
		}
		if (from_w) {
			wpos += used;
		} else {
			p += used;
			n -= used;
		}
		if (!kind)
			continue;
		/* Parsing resumes at the window's start; what w still held follows it. */
		nw = r->win;
		nw.max = SIZE_MAX;
		append_runs(&nw, w, wpos);
		http_buf_free(w);
		*w = nw;
		wpos = 0;
		http_buf_init(&r->win, r->win.max, r->win.mem);
		wait_none(r);
		r->lost = false;
		r->ops->found(r->arg, kind);
	}
}

void http_resync_feed(struct http_resync *r, const uint8_t *p, size_t n, uint64_t ts)
{
	struct http_buf w;

	http_buf_init(&w, SIZE_MAX, r->win.mem);
	drive(r, &w, p, n, ts);
	http_buf_free(&w);
}

void http_resync_finish(struct http_resync *r)
{
	struct http_buf w;
	size_t off;
	int kind;

	if (!r->lost || !r->win.len)
		return;
	kind = http_scan(r->win.p, r->win.len, r->want, true, r->max_line, &off, NULL, r->work);
	if (!kind)
		return;
	http_buf_consume(&r->win, off);
	w = r->win;
	w.max = SIZE_MAX;
	http_buf_init(&r->win, r->win.max, r->win.mem);
	wait_none(r);
	r->lost = false;
	r->ops->found(r->arg, kind);
	drive(r, &w, NULL, 0, 0);
	http_buf_free(&w);
}
