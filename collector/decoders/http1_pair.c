/* HTTP/1 exchanges in request order: each response paired with the request it answers, reported in order. */
#include "http1.h"

/* Requests sent ahead of their responses (pipelining), or responses recorded
 * ahead of their requests, that we follow at most. */
#define MAX_QUEUE	1024

/* The request side has followed every message since the start: requests can be counted. */
static bool in_step(const struct h1 *h)
{
	const struct h1_side *sd = &h->side[h->client_dir];

	return !sd->rs.lost && !sd->tentative;
}

/* A response read back ahead of its request, still waiting for it. */
static bool waits_for_request(const struct http_xchg *x)
{
	return !x->req_seen && x->resp_seen && !x->drop;
}

/* x will have no request: reported alone, as incomplete. */
static void without_request(struct http_xchg *x)
{
	x->req_seen = x->req_done = true;
	x->incomplete = true;
}

static struct http_xchg *xchg_at(struct dlist_node *n)
{
	return n ? container_of(n, struct http_xchg, link) : NULL;
}

/* Takes x off the queue, reports it if asked, frees it. */
static void dequeue(struct h1 *h, struct http_xchg *x, bool report)
{
	dlist_unlink(&h->q, &x->link);
	if (report)
		http_xchg_emit(h->s, x);
	http_xchg_free(h->s, x);
}

void h1_emit_ready(struct h1 *h)
{
	struct http_xchg *x;

	while ((x = xchg_at(h->q.first)) && x->req_done && x->resp_done) {
		/* The other side may still be reading a message of it (an abandoned request's response). */
		if (h->side[0].x == x)
			h->side[0].x = NULL;
		if (h->side[1].x == x)
			h->side[1].x = NULL;
		dequeue(h, x, true);
	}
}

void h1_flush_all(struct h1 *h)
{
	struct http_xchg *x;
	int d;

	while ((x = xchg_at(h->q.first)))
		dequeue(h, x, true);
	for (d = 0; d < 2; d++)
		h1_side_reset_message(&h->side[d]);
}

void h1_queue_free(struct h1 *h)
{
	struct http_xchg *x;

	while ((x = xchg_at(h->q.first)))
		dequeue(h, x, false);
}

struct http_xchg *h1_enqueue(struct h1 *h, const char *proto)
{
	struct http_xchg *x;

	if (h->q.n >= MAX_QUEUE) {
		h1_flush_all(h);
		http_stop(h->s, HN_LIMIT, "over %d HTTP/1 messages awaiting the other side: no longer decoding",
			  MAX_QUEUE);
		return NULL;
	}
	x = http_xchg_new(h->s, proto, h->client_dir);
	if (!x) {
		h1_flush_all(h);
		http_stop(h->s, HN_LIMIT, "out of memory: no longer decoding");
		return NULL;
	}
	dlist_append(&h->q, &x->link);
	return x;
}

/* After a resync: the latest request unanswered, or a stand-in exchange that is not reported. */
static struct http_xchg *pair_latest(struct h1 *h, const char *proto)
{
	struct http_xchg *x, *latest = NULL;

	for (x = xchg_at(h->q.first); x; x = xchg_at(x->link.next))
		if (x->req_seen && !x->resp_seen && !x->drop)
			latest = x;
	/*
	 * Responses to requests lost in a gap may still come; without
	 * pipelining a response answers the latest request. Older ones
	 * stay unanswered.
	 */
	h->pair_latest = false;
	for (x = xchg_at(h->q.first); x; x = xchg_at(x->link.next))
		if (x != latest && !x->resp_seen) {
			x->resp_seen = x->resp_done = true;
			x->incomplete = true;
		}
	if (latest)
		return latest;
	x = h1_enqueue(h, proto);
	if (x) {
		x->drop = true;
		x->req_seen = x->req_done = true;
	}
	return x;
}

struct http_xchg *h1_response_target(struct h1 *h, const char *proto)
{
	struct http_xchg *x;

	if (h->pair_latest)
		return pair_latest(h, proto);
	for (x = xchg_at(h->q.first); x; x = xchg_at(x->link.next))
		if (x->req_seen && !x->resp_seen && !x->drop)
			return x;
	/*
	 * No request waits for it. Records are stamped when their call returns,
	 * so a client whose writer and reader are different threads (Go's
	 * transport, any async client) can have the response read back before
	 * the request's write has returned: the request is still to come. With
	 * the request side in step, the next request takes it, as the client
	 * itself pairs them, by order; a response nobody asked for (a 408
	 * before closing) is reported alone when the connection ends.
	 */
	x = h1_enqueue(h, proto);
	if (x && !in_step(h))
		without_request(x);
	return x;
}

/* Responses read back ahead of their requests: ones still waiting, when the
 * request side has lost count (a gap), are reported alone. */
void h1_orphan_early(struct h1 *h)
{
	struct http_xchg *x;

	for (x = xchg_at(h->q.first); x; x = xchg_at(x->link.next))
		if (waits_for_request(x))
			without_request(x);
}

struct http_xchg *h1_request_target(struct h1 *h, const char *proto)
{
	struct http_xchg *x;

	if (in_step(h))
		for (x = xchg_at(h->q.first); x; x = xchg_at(x->link.next))
			if (waits_for_request(x))
				return x;
	return h1_enqueue(h, proto);
}
