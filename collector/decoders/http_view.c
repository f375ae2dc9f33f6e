/* One HTTP decoder per flow; prints exchanges, notes and frames as text or JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "wallclock.h"
#include "http_view.h"
#include "httpdec.h"
#include "output.h"

#define NBUCKETS	4096
/*
 * Bytes decoded while the decoder is still undecided, kept for the raw
 * view (counted as allocated: headers too). Past this (more than its
 * mid-stream search reads in both directions) the flow is shown raw and
 * no longer decoded.
 */
#define HOLD_MAX	(1024 * 1024)

static const char note_memory[] =
	"memory budget (--max-memory) reached: no longer decoding this connection";

/*
 * A chunk on its way: queued until no earlier record can arrive, fed to
 * the decoder by time, then held (text) until the decoder says what it is.
 */
struct queued {
	struct queued *next;
	__u64 stamp, ts, seq, gap;	/* gap: bytes missing here, no data */
	struct tlstap_data_event ev;	/* header (+ ev.len bytes) */
};

struct view_flow {
	struct view_flow *next;
	struct http_view *hv;
	__u64 conn_id;
	struct httpdec *dec;
	struct tlstap_data_event meta;	/* latest header: who, where */
	bool confirmed;			/* HTTP for sure: nothing more to hold */
	bool raw_only;			/* no longer decoded (dec freed): shown raw */
	bool mem_degraded;		/* ... for lack of memory: its bytes are counted */
	struct queued *held, **held_tail;
	size_t held_bytes;		/* payload */
	size_t held_cost;		/* as charged to the budget */
	__u64 seq;			/* creation order */
	struct view_flow *dprev, *dnext;	/* on the list of flows still decoding */
};

/*
 * The flow table orders each direction, but a response read from one CPU's
 * ring may come before its request from the other's: the decoder is fed by
 * time, once no earlier record can arrive.
 */
struct http_view {
	struct http_view_opts o;
	struct output *out;
	struct view_flow *flows[NBUCKETS];
	struct queued *q, **q_tail;
	__u64 stamp, seq;
	struct view_flow *decoding;	/* flows with a decoder: what reclaim may take from */
	size_t ndecoding;
	__u64 flow_seq;
	struct view_flow *busy;		/* its decoder is running: reclaim leaves it alone */
	struct http_view_stats st;
};

static void reclaim(void *ctx, size_t want);

static size_t bucket(__u64 id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 52) % NBUCKETS;
}

int http_view_new(struct http_view **out_hv, const struct http_view_opts *o, struct output *out)
{
	struct http_view *hv = calloc(1, sizeof(*hv));

	*out_hv = NULL;
	if (!hv)
		return -ENOMEM;
	hv->o = *o;
	hv->out = out;
	hv->q_tail = &hv->q;
	if (o->budget)
		mem_budget_set_reclaim(o->budget, reclaim, hv);
	*out_hv = hv;
	return 0;
}

void http_view_set_stamp(struct http_view *hv, __u64 stamp)
{
	hv->stamp = stamp;
}

/* What a queued chunk costs, charged from enqueue until it is freed. */
static size_t queued_cost(const struct queued *q)
{
	return MEM_COST(sizeof(*q) + q->ev.len);
}

static void free_queued(struct http_view *hv, struct queued *q)
{
	if (hv->o.budget)
		mem_budget_release(hv->o.budget, queued_cost(q));
	free(q);
}

static void drop_held(struct view_flow *vf)
{
	struct queued *h;

	while ((h = vf->held)) {
		vf->held = h->next;
		free_queued(vf->hv, h);
	}
	vf->held_tail = &vf->held;
	vf->held_bytes = 0;
	vf->held_cost = 0;
}

static void decoding_unlink(struct view_flow *vf)
{
	struct http_view *hv = vf->hv;

	if (vf->dprev)
		vf->dprev->dnext = vf->dnext;
	else if (hv->decoding == vf)
		hv->decoding = vf->dnext;
	else
		return;		/* not on the list */
	if (vf->dnext)
		vf->dnext->dprev = vf->dprev;
	vf->dprev = vf->dnext = NULL;
	hv->ndecoding--;
}

static void free_decoder(struct view_flow *vf)
{
	decoding_unlink(vf);
	httpdec_free(vf->dec);
	vf->dec = NULL;
}

static void free_flow(struct view_flow *vf)
{
	drop_held(vf);
	free_decoder(vf);
	free(vf);
}

void http_view_free(struct http_view *hv)
{
	struct view_flow *vf;
	size_t b;

	struct queued *q;

	if (!hv)
		return;
	for (b = 0; b < NBUCKETS; b++) {
		while ((vf = hv->flows[b])) {
			hv->flows[b] = vf->next;
			free_flow(vf);
		}
	}
	while ((q = hv->q)) {
		hv->q = q->next;
		free_queued(hv, q);
	}
	if (hv->o.budget && hv->o.budget->reclaim_ctx == hv)
		mem_budget_set_reclaim(hv->o.budget, NULL, NULL);
	free(hv);
}

static bool redacted(const struct http_view *hv, const char *name)
{
	int i;

	for (i = 0; i < hv->o.nredact; i++)
		if (!strcasecmp(hv->o.redact[i], name))
			return true;
	return false;
}

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* Header values and paths come from the traced traffic: escape for a terminal. */
static void text_str(FILE *f, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s && s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

static bool printable(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') || p[i] == 0x7f)
			return false;
	return true;
}

static void text_headers(FILE *f, const struct http_view *hv, const char *arrow,
			 const struct http_header *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fprintf(f, "  %s ", arrow);
		text_str(f, h[i].name, 256);
		fputs(": ", f);
		if (redacted(hv, h[i].name))
			fputs("[redacted]", f);
		else
			text_str(f, h[i].value, 4096);
		fputc('\n', f);
	}
}

static void text_body(FILE *f, const char *arrow, const uint8_t *body, size_t len, __u64 total,
		      size_t preview)
{
	size_t i;

	if (!total)
		return;
	if (len > preview)
		len = preview;	/* --body 0: sizes only */
	fprintf(f, "  %s [body %llu bytes]", arrow, (unsigned long long)total);
	if (len && printable(body, len)) {
		fputs(" ", f);
		for (i = 0; i < len; i++) {
			if (body[i] == '\n')
				fputs("\\n", f);
			else if (body[i] == '\r')
				fputs("\\r", f);
			else if (body[i] == '\t')
				fputs("\\t", f);
			else if (body[i] == '\\')
				fputs("\\\\", f);
			else
				fputc(body[i], f);
		}
		if (len < total)
			fputs("...", f);
	} else if (len) {
		fputs(" (binary)", f);
	}
	fputc('\n', f);
}

static void fmt_addrs(const struct tlstap_data_event *m, int client_dir, char *cli, char *srv, size_t len)
{
	char local[64], remote[64];

	output_format_addr(local, sizeof(local), m->addr.family, m->addr.laddr, m->addr.lport);
	output_format_addr(remote, sizeof(remote), m->addr.family, m->addr.raddr, m->addr.rport);
	/* The request went out of the traced process: it is the client. */
	snprintf(cli, len, "%s", client_dir == 0 ? (local[0] ? local : "?") : (remote[0] ? remote : "?"));
	snprintf(srv, len, "%s", client_dir == 0 ? (remote[0] ? remote : "?") : (local[0] ? local : "?"));
}

static void print_text(struct view_flow *vf, const struct http_exchange *x)
{
	struct http_view *hv = vf->hv;
	FILE *f = hv->out->f;
	char when[32], cli[64], srv[64], comm[OUTPUT_COMM_SIZE];
	time_t secs = (time_t)(x->start_ns / 1000000000ull);
	struct tm tm;

	output_end_block(hv->out);
	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	output_safe_comm(comm, vf->meta.comm);
	fmt_addrs(&vf->meta, x->client_dir, cli, srv, sizeof(cli));
	fprintf(f, "%s.%06llu %s[%u] conn %llu %s -> %s %s", when,
		(unsigned long long)(x->start_ns % 1000000000ull) / 1000, comm, vf->meta.pid,
		(unsigned long long)vf->conn_id, cli, srv, x->proto);
	if (x->stream_id)
		fprintf(f, " stream %u", x->stream_id);
	fputc(' ', f);
	text_str(f, str_or(x->method, "?"), 64);
	fputc(' ', f);
	text_str(f, str_or(x->path, "?"), 2048);
	if (x->status)
		fprintf(f, " -> %d", x->status);
	else
		fputs(" -> (no response)", f);
	if (x->end_ns > x->start_ns)
		fprintf(f, " %.3f ms", (double)(x->end_ns - x->start_ns) / 1e6);
	if (x->incomplete)
		fputs(" [incomplete]", f);
	fputc('\n', f);
	if (x->grpc) {
		fputs("  grpc ", f);
		text_str(f, str_or(x->grpc_service, "?"), 256);
		fputc('/', f);
		text_str(f, str_or(x->grpc_method, "?"), 256);
		fprintf(f, " status %d messages %u/%u", x->grpc_status, x->req_msgs, x->resp_msgs);
		if (x->grpc_message) {
			fputs(" message ", f);
			text_str(f, x->grpc_message, 512);
		}
		fputc('\n', f);
	}
	text_headers(f, hv, ">", x->req_headers, x->n_req_headers);
	text_body(f, ">", x->req_body, x->req_body_len, x->req_body_bytes, hv->o.body_preview);
	text_headers(f, hv, "<", x->resp_headers, x->n_resp_headers);
	text_body(f, "<", x->resp_body, x->resp_body_len, x->resp_body_bytes, hv->o.body_preview);
	text_headers(f, hv, "< trailer", x->trailers, x->n_trailers);
}

static void json_str(FILE *f, const char *s)
{
	if (s)
		output_json_string(f, s, strlen(s));
	else
		fputs("null", f);
}

static void json_headers(FILE *f, const struct http_view *hv, const char *key,
			 const struct http_header *h, size_t n)
{
	size_t i;

	fprintf(f, ",\"%s\":[", key);
	for (i = 0; i < n; i++) {
		fputs(i ? ",[" : "[", f);
		json_str(f, h[i].name);
		fputc(',', f);
		json_str(f, redacted(hv, h[i].name) ? "[redacted]" : h[i].value);
		fputc(']', f);
	}
	fputc(']', f);
}

static void print_json(struct view_flow *vf, const struct http_exchange *x)
{
	struct http_view *hv = vf->hv;
	FILE *f = hv->out->f;
	char local[64], remote[64];

	output_format_addr(local, sizeof(local), vf->meta.addr.family, vf->meta.addr.laddr,
			   vf->meta.addr.lport);
	output_format_addr(remote, sizeof(remote), vf->meta.addr.family, vf->meta.addr.raddr,
			   vf->meta.addr.rport);
	fprintf(f, "{\"type\":\"http\",\"ts_ns\":%llu,\"proto\":\"%s\",\"conn\":%llu",
		(unsigned long long)x->start_ns, x->proto, (unsigned long long)vf->conn_id);
	if (x->stream_id)
		fprintf(f, ",\"stream\":%u", x->stream_id);
	fprintf(f, ",\"pid\":%u,\"comm\":", vf->meta.pid);
	output_json_string(f, vf->meta.comm, sizeof(vf->meta.comm));
	fputs(",\"local\":", f);
	json_str(f, local[0] ? local : NULL);
	fputs(",\"remote\":", f);
	json_str(f, remote[0] ? remote : NULL);
	fprintf(f, ",\"role\":\"%s\",\"method\":", x->client_dir == 0 ? "client" : "server");
	json_str(f, x->method);
	fputs(",\"path\":", f);
	json_str(f, x->path);
	fputs(",\"authority\":", f);
	json_str(f, x->authority);
	if (x->status)
		fprintf(f, ",\"status\":%d", x->status);
	else
		fputs(",\"status\":null", f);
	json_headers(f, hv, "req_headers", x->req_headers, x->n_req_headers);
	json_headers(f, hv, "resp_headers", x->resp_headers, x->n_resp_headers);
	json_headers(f, hv, "trailers", x->trailers, x->n_trailers);
	fprintf(f, ",\"req_body_bytes\":%llu,\"resp_body_bytes\":%llu,\"latency_ns\":%llu,\"incomplete\":%s",
		(unsigned long long)x->req_body_bytes, (unsigned long long)x->resp_body_bytes,
		(unsigned long long)(x->end_ns > x->start_ns ? x->end_ns - x->start_ns : 0),
		x->incomplete ? "true" : "false");
	if (x->grpc) {
		fputs(",\"grpc_service\":", f);
		json_str(f, x->grpc_service);
		fputs(",\"grpc_method\":", f);
		json_str(f, x->grpc_method);
		if (x->grpc_status >= 0)
			fprintf(f, ",\"grpc_status\":%d", x->grpc_status);
		else
			fputs(",\"grpc_status\":null", f);
		fputs(",\"grpc_message\":", f);
		json_str(f, x->grpc_message);
		fprintf(f, ",\"grpc_req_msgs\":%u,\"grpc_resp_msgs\":%u", x->req_msgs, x->resp_msgs);
	}
	fputs("}\n", f);
}

static void on_exchange(void *ctx, const struct http_exchange *x)
{
	struct view_flow *vf = ctx;

	vf->confirmed = true;
	drop_held(vf);
	if (output_done(vf->hv->out))
		return;
	if (vf->hv->o.mode == OUT_JSON)
		print_json(vf, x);
	else
		print_text(vf, x);
}

static void on_note(void *ctx, const char *note)
{
	struct view_flow *vf = ctx;
	FILE *f = vf->hv->out->f;

	if (output_done(vf->hv->out))
		return;
	if (vf->hv->o.mode == OUT_JSON) {
		fprintf(f, "{\"type\":\"note\",\"conn\":%llu,\"pid\":%u,\"note\":",
			(unsigned long long)vf->conn_id, vf->meta.pid);
		json_str(f, note);
		fputs("}\n", f);
	} else {
		output_end_block(vf->hv->out);
		fprintf(f, "[tlstap: conn %llu: ", (unsigned long long)vf->conn_id);
		text_str(f, note, 256);
		fputs("]\n", f);
	}
}

static void on_h2_frame(void *ctx, int dir, uint8_t type, uint8_t flags, uint32_t stream_id,
			uint32_t length)
{
	struct view_flow *vf = ctx;
	FILE *f = vf->hv->out->f;

	vf->confirmed = true;
	drop_held(vf);
	if (output_done(vf->hv->out))
		return;
	if (vf->hv->o.mode == OUT_JSON) {
		fprintf(f, "{\"type\":\"h2frame\",\"conn\":%llu,\"dir\":\"%s\",\"frame\":\"%s\","
			"\"flags\":%u,\"stream\":%u,\"len\":%u}\n", (unsigned long long)vf->conn_id,
			dir ? "in" : "out", httpdec_h2_frame_name(type), flags, stream_id, length);
	} else {
		output_end_block(vf->hv->out);
		fprintf(f, "[tlstap: conn %llu h2 %s %s stream %u flags 0x%02x %u bytes]\n",
			(unsigned long long)vf->conn_id, dir ? "in" : "out",
			httpdec_h2_frame_name(type), stream_id, flags, length);
	}
}

static const struct httpdec_callbacks dec_callbacks = {
	.on_exchange = on_exchange,
	.on_note = on_note,
	.on_h2_frame = on_h2_frame,
};

static struct view_flow *find(struct http_view *hv, __u64 conn_id)
{
	struct view_flow *vf;

	for (vf = hv->flows[bucket(conn_id)]; vf && vf->conn_id != conn_id; vf = vf->next)
		;
	return vf;
}

static struct view_flow *get(struct http_view *hv, const struct flow *f,
			      const struct tlstap_data_event *ev)
{
	struct httpdec_limits lim = { 64 * 1024, 100, hv->o.body_preview, hv->o.budget };
	struct view_flow *vf = find(hv, f->conn_id);
	size_t b;
	int err;

	if (vf)
		return vf;
	vf = calloc(1, sizeof(*vf));
	if (!vf)
		return NULL;
	vf->hv = hv;
	vf->conn_id = f->conn_id;
	vf->held_tail = &vf->held;
	vf->seq = hv->flow_seq++;
	memcpy(&vf->meta, ev, sizeof(vf->meta));
	/* A stream first seen past its start cannot be trusted from its first byte. */
	err = httpdec_new(&vf->dec, &dec_callbacks, vf, &lim, ev->pos != 0);
	if (err && err != -ENOBUFS) {
		free(vf);
		return NULL;
	}
	b = bucket(f->conn_id);
	vf->next = hv->flows[b];
	hv->flows[b] = vf;
	if (err) {
		/* No room for one more decoder: the flow is shown raw, in order, and counted. */
		vf->dec = NULL;
		vf->raw_only = vf->mem_degraded = true;
		hv->st.undecoded_conns++;
		on_note(vf, note_memory);
		return vf;
	}
	vf->dnext = hv->decoding;
	if (hv->decoding)
		hv->decoding->dprev = vf;
	hv->decoding = vf;
	hv->ndecoding++;
	return vf;
}

static void remove_flow(struct http_view *hv, __u64 conn_id)
{
	struct view_flow **pp = &hv->flows[bucket(conn_id)], *vf;

	while ((vf = *pp)) {
		if (vf->conn_id == conn_id) {
			*pp = vf->next;
			free_flow(vf);
			return;
		}
		pp = &vf->next;
	}
}

static void enqueue(struct http_view *hv, const struct tlstap_data_event *ev, __u64 ts, __u64 gap)
{
	size_t len = gap ? 0 : ev->len;
	struct queued *q = malloc(sizeof(*q) + len);

	if (!q)
		return;
	/* Raw data on its way: kept whatever the budget says, but decoders make room for it. */
	if (hv->o.budget)
		mem_budget_force(hv->o.budget, MEM_COST(sizeof(*q) + len));
	q->next = NULL;
	q->stamp = hv->stamp;
	q->ts = ts;
	q->seq = hv->seq++;
	q->gap = gap;
	memcpy(&q->ev, ev, sizeof(*ev));
	q->ev.len = (__u32)len;
	if (len)
		memcpy(q->ev.data, ev->data, len);
	*hv->q_tail = q;
	hv->q_tail = &q->next;
}

static void print_held_raw(struct view_flow *vf)
{
	struct queued *h;

	for (h = vf->held; h; h = h->next)
		if (!h->gap)
			output_print_raw(vf->hv->out, &h->ev);
	drop_held(vf);
}

/*
 * Decoding of the flow ends: the decoder stopped by itself, or memory is
 * short. Bytes held undecided go to the raw view; otherwise exchanges
 * under way are reported as they stand. The decoder is freed; what comes
 * next is shown raw. for_memory: counted as not decoded.
 */
static void end_decoding(struct view_flow *vf, const char *note, bool for_memory)
{
	struct http_view *hv = vf->hv;

	if (for_memory && !vf->mem_degraded) {
		vf->mem_degraded = true;
		hv->st.undecoded_conns++;
		hv->st.undecoded_bytes += vf->held_bytes;
	}
	if (note)
		on_note(vf, note);
	if (vf->held)
		print_held_raw(vf);
	else
		httpdec_abort(vf->dec);
	free_decoder(vf);
	vf->raw_only = true;
}

static int by_size(const void *a, const void *b)
{
	const struct view_flow *x = *(const struct view_flow *const *)a;
	const struct view_flow *y = *(const struct view_flow *const *)b;
	size_t mx = httpdec_mem(x->dec) + x->held_cost, my = httpdec_mem(y->dec) + y->held_cost;

	if (mx != my)
		return mx > my ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The budget is short by want bytes: stop decoding the connections that
 * hold the most (the oldest first among equals) until that much is free.
 * The one whose decoder is running is left alone: its own allocation
 * fails instead and it stops by itself.
 */
static void reclaim(void *ctx, size_t want)
{
	struct http_view *hv = ctx;
	struct mem_budget *b = hv->o.budget;
	struct view_flow **v, *vf;
	size_t n = 0, i, freed = 0, before;

	if (!hv->ndecoding)
		return;
	v = malloc(hv->ndecoding * sizeof(*v));
	if (!v)
		return;
	for (vf = hv->decoding; vf && n < hv->ndecoding; vf = vf->dnext)
		if (vf != hv->busy)
			v[n++] = vf;
	qsort(v, n, sizeof(*v), by_size);
	for (i = 0; i < n && freed < want; i++) {
		before = b->used;
		end_decoding(v[i], note_memory, true);
		freed += before > b->used ? before - b->used : 0;
	}
	free(v);
}

/*
 * Text: keeps a fed chunk until the decoder has said what the flow is. It
 * was charged when queued; held, it is memory reclaim may take back.
 */
static bool keep(struct view_flow *vf, struct queued *q)
{
	struct mem_budget *b = vf->hv->o.budget;
	size_t cost = queued_cost(q);
	char note[128];

	if (vf->confirmed)
		return false;
	if (vf->held_cost + cost > HOLD_MAX) {
		/* Undecided after this much: show it raw, stop decoding. */
		snprintf(note, sizeof(note), "undecided after %d KiB: no longer decoding this connection",
			 HOLD_MAX / 1024);
		end_decoding(vf, note, true);
		return false;
	}
	/* Over the budget with nothing else to give: this one goes. */
	if (b && mem_budget_over(b)) {
		end_decoding(vf, note_memory, true);
		return false;
	}
	q->next = NULL;
	*vf->held_tail = q;
	vf->held_tail = &q->next;
	vf->held_bytes += q->ev.len;
	vf->held_cost += cost;
	return true;
}

/* A chunk of a flow no longer decoded: the raw view, in arrival order. */
static void pass_raw(struct view_flow *vf, const struct queued *q)
{
	if (q->gap)
		return;
	if (vf->mem_degraded)
		vf->hv->st.undecoded_bytes += q->ev.len;
	if (vf->hv->o.mode == OUT_TEXT)
		output_print_raw(vf->hv->out, &q->ev);
}

/* Feeds one queued chunk; returns true when the view kept it. */
static bool feed(struct http_view *hv, struct queued *q)
{
	struct view_flow *vf = find(hv, q->ev.conn_id);
	bool kept;

	if (!vf)
		return false;
	if (vf->raw_only || !httpdec_is_http(vf->dec)) {
		pass_raw(vf, q);
		return false;
	}
	/* Until the chunk is placed, making room must not take this flow's state away. */
	hv->busy = vf;
	if (q->gap)
		httpdec_gap(vf->dec, (int)q->ev.dir, q->gap);
	else
		httpdec_feed(vf->dec, (int)q->ev.dir, q->ev.data, q->ev.len, q->ts);
	if (!httpdec_is_http(vf->dec)) {
		/* It stopped here (not HTTP, an upgrade, a tunnel, out of memory): what it
		 * held and this chunk go to the raw view. It said why itself. */
		end_decoding(vf, NULL, httpdec_over_budget(vf->dec));
		kept = false;
	} else {
		kept = hv->o.mode == OUT_TEXT && keep(vf, q);
	}
	hv->busy = NULL;
	if (!kept && vf->raw_only)
		pass_raw(vf, q);
	return kept;
}

static int by_time(const void *a, const void *b)
{
	const struct queued *x = *(const struct queued *const *)a, *y = *(const struct queued *const *)b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	/* Chunks of one call share their time: keep arrival order. */
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Feeds the queued bytes stamped before `before` (only_conn: that flow's, all), by time. */
static void settle(struct http_view *hv, __u64 before, __u64 only_conn, bool one_conn)
{
	struct queued **v = NULL, *q, **pp;
	size_t n = 0, cap = 0, i;

	for (pp = &hv->q; (q = *pp);) {
		if (q->stamp >= before && !one_conn)
			break;	/* stamps only grow along the queue */
		if (one_conn && q->ev.conn_id != only_conn) {
			pp = &q->next;
			continue;
		}
		if (n == cap) {
			struct queued **nv = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = cap ? cap * 2 : 64;
		}
		*pp = q->next;
		v[n++] = q;
	}
	hv->q_tail = &hv->q;
	for (q = hv->q; q; q = q->next)
		hv->q_tail = &q->next;
	if (n)
		qsort(v, n, sizeof(*v), by_time);
	for (i = 0; i < n; i++)
		if (!feed(hv, v[i]))
			free_queued(hv, v[i]);
	free(v);
}

void http_view_settle(struct http_view *hv, __u64 before)
{
	settle(hv, before, 0, false);
}

void http_view_settle_now(struct http_view *hv)
{
	if (!hv->q)
		return;
	hv->st.early_settles++;
	settle(hv, UINT64_MAX, 0, false);
}

static void on_data(void *ctx, const struct flow *f, const struct tlstap_data_event *ev)
{
	struct http_view *hv = ctx;
	struct view_flow *vf = get(hv, f, ev);

	if (!vf)
		return;
	memcpy(&vf->meta, ev, sizeof(vf->meta));
	/* Text: every chunk goes through the queue, so raw and decoded views
	 * stay in order; JSON prints data itself and needs only HTTP ones. */
	if (hv->o.mode != OUT_TEXT && !httpdec_is_http(vf->dec)) {
		if (vf->mem_degraded)
			hv->st.undecoded_bytes += ev->len;
		return;
	}
	enqueue(hv, ev, (__u64)wallclock_ns(ev->ts_ns, hv->out->mono_to_real_ns), 0);
}

static void on_gap(void *ctx, const struct flow *f, int dir, __u64 pos, __u64 len,
		   enum gap_reason why)
{
	struct http_view *hv = ctx;
	struct view_flow *vf = find(hv, f->conn_id);

	if (vf && httpdec_is_http(vf->dec) && !vf->raw_only) {
		struct tlstap_data_event g = vf->meta;

		g.dir = (__u8)dir;
		enqueue(hv, &g, (__u64)wallclock_ns(vf->meta.ts_ns, hv->out->mono_to_real_ns), len ? len : 1);
	}
}

static void on_close(void *ctx, const struct flow *f, enum close_reason why)
{
	struct http_view *hv = ctx;
	struct view_flow *vf = find(hv, f->conn_id);
	struct timespec now;

	if (!vf)
		return;
	settle(hv, 0, f->conn_id, true);	/* its bytes still queued, first */
	clock_gettime(CLOCK_REALTIME, &now);
	if (httpdec_is_http(vf->dec)) {
		hv->busy = vf;
		httpdec_close(vf->dec, (__u64)now.tv_sec * 1000000000ull + (__u64)now.tv_nsec);
		hv->busy = NULL;
	}
	/* Never decided: show the bytes raw rather than nothing. */
	if (hv->o.mode == OUT_TEXT && !vf->confirmed)
		print_held_raw(vf);
	remove_flow(hv, f->conn_id);
}

bool http_view_takes(struct http_view *hv, const struct flow *f, const struct tlstap_data_event *ev)
{
	/* Text: the view prints every chunk, decoded or raw, in order. */
	return find(hv, f->conn_id) != NULL;
}

void http_view_stats(const struct http_view *hv, struct http_view_stats *st)
{
	*st = hv->st;
}

const struct flow_callbacks http_view_callbacks = {
	.on_data = on_data,
	.on_gap = on_gap,
	.on_close = on_close,
};
