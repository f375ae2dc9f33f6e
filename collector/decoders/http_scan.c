/* Finding where decoding can start in bytes that begin anywhere in an HTTP stream. */
#include <stdint.h>
#include <string.h>
#include "http1_line.h"
#include "http2_frame.h"
#include "http_scan.h"

enum verdict { NO, YES, MORE };

enum seek_kind {
	SEEK_LF,	/* '\n' */
	SEEK_BLANK,	/* what ends a request target: space, controls, DEL */
	SEEK_CTL,	/* what no status line holds: controls but tab, DEL */
};

/* What the candidate being judged waits for, relative to it, and what the scan has searched. */
struct want_more {
	size_t len;
	bool lf;
	uint64_t work;
	struct http_seek seek[3];	/* by enum seek_kind, positions in the whole buffer */
};

static enum verdict more(struct want_more *w, size_t len, bool lf)
{
	if (len < w->len)
		w->len = len;
	w->lf |= lf;
	return MORE;
}

static bool is_kind(uint8_t c, enum seek_kind k)
{
	if (k == SEEK_BLANK)
		return c <= ' ' || c == 0x7f;
	return (c < ' ' && c != '\t') || c == 0x7f;
}

/*
 * The first byte of a kind at or after i in p[0..lim), or lim. The
 * positions asked about only grow, so each byte is looked at once however
 * many candidates share a line.
 */
static size_t seek(const uint8_t *p, size_t i, size_t lim, enum seek_kind k, struct want_more *w)
{
	struct http_seek *c = &w->seek[k];
	const uint8_t *hit;
	size_t j;

	if (i < c->from || i > c->to) {
		c->from = c->to = i;
		c->found = false;
	}
	if (c->found || c->to >= lim)
		return c->to < lim ? c->to : lim;
	if (k == SEEK_LF) {
		hit = memchr(p + c->to, '\n', lim - c->to);
		j = hit ? (size_t)(hit - p) : lim;
	} else {
		for (j = c->to; j < lim && !is_kind(p[j], k); j++)
			;
	}
	w->work += j - c->to + (j < lim);
	c->to = j;
	c->found = j < lim;
	return j;
}

/* A whole line at p + i: its length without CRLF in *len, or MORE/NO. */
static enum verdict line_at(const uint8_t *p, size_t i, size_t n, bool at_end, size_t max_line,
			    size_t *len, struct want_more *w)
{
	size_t lim = n - i < max_line ? n : i + max_line, lf = seek(p, i, lim, SEEK_LF, w);

	if (lf == lim)
		return n - i < max_line && !at_end ? more(w, max_line, true) : NO;
	*len = lf - i;
	if (*len && p[lf - 1] == '\r')
		(*len)--;
	return YES;
}

/* Candidates at p + i, with n bytes in all. */
static enum verdict req_at(const uint8_t *p, size_t i, size_t n, bool at_end, size_t max_line,
			   struct want_more *w)
{
	struct h1_reqline r;
	enum verdict v;
	size_t len, m, t;

	if (!h1_known_method((const char *)p + i, n - i)) {
		/* A prefix of a method might still become one. */
		return n - i < 10 && !at_end && p[i] >= 'A' && p[i] <= 'Z' ?
			more(w, n - i + 1, false) : NO;
	}
	v = line_at(p, i, n, at_end, max_line, &len, w);
	if (v != YES)
		return v;
	/*
	 * "METHOD target HTTP/1.x": the target ends 9 bytes before the line
	 * does. Lines like "GET GET GET ..." hold a candidate every 4 bytes:
	 * only one whose target fits is parsed in full.
	 */
	for (m = 0; p[i + m] != ' '; m++)
		;
	t = seek(p, i + m + 1, i + len, SEEK_BLANK, w);
	if (t + 9 != i + len)
		return NO;
	w->work += len;
	return h1_parse_request_line((const char *)p + i, len, &r) ? NO : YES;
}

static enum verdict resp_at(const uint8_t *p, size_t i, size_t n, bool at_end, size_t max_line,
			    struct want_more *w)
{
	static const char http[] = "HTTP/1.";
	struct h1_statusline s;
	enum verdict v;
	size_t len;

	if (n - i < 7)
		return !memcmp(p + i, http, n - i) && !at_end ? more(w, n - i + 1, false) : NO;
	if (memcmp(p + i, http, 7))
		return NO;
	v = line_at(p, i, n, at_end, max_line, &len, w);
	if (v != YES)
		return v;
	/* "HTTP/1.x NNN", then " reason" without controls: found without rescanning reasons. */
	if (len < 12 || h1_parse_status_line((const char *)p + i, 12, &s))
		return NO;
	if (len == 12)
		return YES;
	return p[i + 12] == ' ' && seek(p, i + 12, i + len, SEEK_CTL, w) == i + len ? YES : NO;
}

static enum verdict h2_at(const uint8_t *p, size_t n, bool at_end, struct want_more *w)
{
	struct h2_fh h;
	size_t off = 0;
	int k;

	if (p[0] != 0)		/* frames of the default maximum size start with 0 */
		return NO;
	for (k = 0; k < HS_H2_CHAIN; k++) {
		if (off > n || n - off < H2_FRAME_HDR) {
			if (!at_end)
				return more(w, off + H2_FRAME_HDR, false);
			return k && off == n ? YES : NO;
		}
		h2_fh_parse(p + off, &h);
		if (!h2_fh_plausible(&h))
			return NO;
		off += H2_FRAME_HDR + h.len;
	}
	return YES;
}

int http_scan(const uint8_t *p, size_t n, unsigned want, bool at_end, size_t max_line,
	      size_t *off, struct http_scan_wait *wait, uint64_t *work)
{
	static const int kinds[] = { HS_REQ, HS_RESP, HS_H2 };
	struct want_more w = { .len = SIZE_MAX };
	struct http_seek *c;
	enum verdict v;
	int k, kind = 0;
	bool open;
	size_t i;

	if (wait && wait->lf_seek.to <= n && wait->lf_seek.from <= wait->lf_seek.to)
		w.seek[SEEK_LF] = wait->lf_seek;
	for (i = 0; i < n && !kind; i++) {
		open = false;
		for (k = 0; k < 3 && !kind; k++) {
			if (!(want & kinds[k]))
				continue;
			if (kinds[k] == HS_REQ)
				v = req_at(p, i, n, at_end, max_line, &w);
			else if (kinds[k] == HS_RESP)
				v = resp_at(p, i, n, at_end, max_line, &w);
			else
				v = h2_at(p + i, n - i, at_end, &w);
			if (v == YES)
				kind = kinds[k];
			open |= v == MORE;
		}
		/* An earlier candidate still open wins over any later one. */
		if (open || kind)
			break;
	}
	*off = i;
	if (work)
		*work += w.work + i;
	if (wait) {
		/* Nothing open: every new byte may start something. */
		wait->len = i < n && !kind ? w.len : 0;
		wait->lf = i < n && !kind && w.lf;
		/* What was learnt about line feeds, from the new start. */
		c = &w.seek[SEEK_LF];
		if (c->to < i || (c->to == i && !c->found)) {
			memset(&wait->lf_seek, 0, sizeof(wait->lf_seek));
		} else {
			wait->lf_seek.from = c->from > i ? c->from - i : 0;
			wait->lf_seek.to = c->to - i;
			wait->lf_seek.found = c->found;
		}
	}
	return kind;
}

bool http_scan_worth(const struct http_scan_wait *wait, size_t len, const uint8_t *p, size_t n)
{
	return len >= wait->len || (wait->lf && memchr(p, '\n', n));
}
