/* Finding where decoding can start in bytes that begin anywhere in an HTTP stream. */
#include <stdint.h>
#include <string.h>
#include "http1_line.h"
#include "http2_frame.h"
#include "http_scan.h"

enum verdict { NO, YES, MORE };

/* What the candidate being judged waits for, relative to it. */
struct want_more {
	size_t len;
	bool lf;
};

static enum verdict more(struct want_more *w, size_t len, bool lf)
{
	if (len < w->len)
		w->len = len;
	w->lf |= lf;
	return MORE;
}

/* A whole line at p: its length without CRLF in *len, or MORE/NO. */
static enum verdict line_at(const uint8_t *p, size_t n, bool at_end, size_t max_line, size_t *len,
			    struct want_more *w)
{
	const uint8_t *lf = memchr(p, '\n', n < max_line ? n : max_line);

	if (!lf)
		return n < max_line && !at_end ? more(w, max_line, true) : NO;
	*len = (size_t)(lf - p);
	if (*len && p[*len - 1] == '\r')
		(*len)--;
	return YES;
}

static enum verdict req_at(const uint8_t *p, size_t n, bool at_end, size_t max_line,
			   struct want_more *w)
{
	struct h1_reqline r;
	enum verdict v;
	size_t len;

	if (!h1_known_method((const char *)p, n)) {
		/* A prefix of a method might still become one. */
		return n < 10 && !at_end && p[0] >= 'A' && p[0] <= 'Z' ? more(w, n + 1, false) : NO;
	}
	v = line_at(p, n, at_end, max_line, &len, w);
	if (v != YES)
		return v;
	return h1_parse_request_line((const char *)p, len, &r) ? NO : YES;
}

static enum verdict resp_at(const uint8_t *p, size_t n, bool at_end, size_t max_line,
			    struct want_more *w)
{
	static const char http[] = "HTTP/1.";
	struct h1_statusline s;
	enum verdict v;
	size_t len;

	if (n < 7)
		return !memcmp(p, http, n) && !at_end ? more(w, n + 1, false) : NO;
	if (memcmp(p, http, 7))
		return NO;
	v = line_at(p, n, at_end, max_line, &len, w);
	if (v != YES)
		return v;
	return h1_parse_status_line((const char *)p, len, &s) ? NO : YES;
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
	      size_t *off, struct http_scan_wait *wait)
{
	static const int kinds[] = { HS_REQ, HS_RESP, HS_H2 };
	struct want_more w = { .len = SIZE_MAX };
	enum verdict v;
	bool open;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		open = false;
		for (k = 0; k < 3; k++) {
			if (!(want & kinds[k]))
				continue;
			if (kinds[k] == HS_REQ)
				v = req_at(p + i, n - i, at_end, max_line, &w);
			else if (kinds[k] == HS_RESP)
				v = resp_at(p + i, n - i, at_end, max_line, &w);
			else
				v = h2_at(p + i, n - i, at_end, &w);
			if (v == YES) {
				*off = i;
				return kinds[k];
			}
			open |= v == MORE;
		}
		/* An earlier candidate still open wins over any later one. */
		if (open)
			break;
	}
	*off = i;
	if (wait) {
		/* Nothing open: every new byte may start something. */
		wait->len = i < n ? i + w.len : n;
		wait->lf = i < n && w.lf;
	}
	return 0;
}

bool http_scan_worth(const struct http_scan_wait *wait, size_t len, const uint8_t *p, size_t n)
{
	return len >= wait->len || (wait->lf && memchr(p, '\n', n));
}
