/* JSON lines: one object per chunk, gap, connection open and close, decoded exchange and note. */
#include <string.h>
#include "wallclock.h"
#include "print.h"
#include "probe_table.h"
#include "cgroup_cache.h"
#include "jsonline.h"

/*
 * One line per record, built whole in memory (see jsonline.h) and written
 * with one fwrite. One printer writes at a time (the collector's thread).
 */
static struct jsonline line;

/* Every line ends with the fleet's labels, if any, and its newline. */
static void json_end(const struct output *o)
{
	jl_cstr(&line, o->tags);
	jl_lit(&line, "}\n");
	jl_write(&line, o->f);
}

static void json_addr(const char *key, const char *addr)
{
	jl_cstr(&line, key);
	if (addr[0]) {
		jl_lit(&line, "\"");
		jl_cstr(&line, addr);
		jl_lit(&line, "\"");
	} else {
		jl_lit(&line, "null");
	}
}

/* Which process, container and network namespace: every kind of line names them alike. */
static void json_who(const struct tlstap_data_event *m)
{
	const struct container_info *ci = cgroup_cache_get(m->cgroup_id, m->pid);

	jl_lit(&line, ",\"cgroup_id\":");
	jl_u64(&line, m->cgroup_id);
	if (m->netns) {
		jl_lit(&line, ",\"netns\":");
		jl_u64(&line, m->netns);
	} else {
		jl_lit(&line, ",\"netns\":null");
	}
	if (!ci) {
		jl_lit(&line, ",\"container\":null");
		return;
	}
	/* Checked when resolved: hex, a runtime's name and a UID need no escaping. */
	if (ci->runtime != CTR_NONE) {
		jl_lit(&line, ",\"container\":{\"id\":\"");
		jl_cstr(&line, ci->id);
		jl_lit(&line, "\",\"runtime\":\"");
		jl_cstr(&line, container_runtime_name(ci->runtime));
		jl_lit(&line, "\"");
	} else {
		jl_lit(&line, ",\"container\":{\"id\":null,\"runtime\":null");
	}
	if (ci->pod_uid[0]) {
		jl_lit(&line, ",\"pod_uid\":\"");
		jl_cstr(&line, ci->pod_uid);
		jl_lit(&line, "\"}");
	} else {
		jl_lit(&line, ",\"pod_uid\":null}");
	}
}

static void json_common(const struct tlstap_data_event *m)
{
	char local[64], remote[64];

	output_format_addr(local, sizeof(local), m->addr.family, m->addr.laddr, m->addr.lport);
	output_format_addr(remote, sizeof(remote), m->addr.family, m->addr.raddr, m->addr.rport);
	jl_lit(&line, ",\"pid\":");
	jl_u64(&line, m->pid);
	jl_lit(&line, ",\"tid\":");
	jl_u64(&line, m->tid);
	jl_lit(&line, ",\"comm\":");
	jl_string(&line, m->comm, sizeof(m->comm));
	jl_lit(&line, ",\"lib\":\"");
	jl_cstr(&line, probe_func_lib_name(m->func_id));
	jl_lit(&line, "\",\"conn\":");
	jl_u64(&line, m->conn_id);
	if (m->fd >= 0) {
		jl_lit(&line, ",\"fd\":");
		jl_u64(&line, (__u64)m->fd);
	} else {
		jl_lit(&line, ",\"fd\":null");
	}
	json_addr(",\"local\":", local);
	json_addr(",\"remote\":", remote);
	json_who(m);
}

static void json_open(struct output *o, const struct flow *f)
{
	jl_lit(&line, "{\"type\":\"conn\",\"ts_ns\":");
	jl_s64(&line, wallclock_ns(f->meta.ts_ns, o->mono_to_real_ns));
	json_common(&f->meta);
	json_end(o);
}

static void json_data(struct output *o, const struct tlstap_data_event *ev)
{
	size_t n = 4 * (((size_t)ev->len + 2) / 3);
	char *b64;

	if (o->no_data)
		return;
	jl_lit(&line, "{\"type\":\"data\",\"ts_ns\":");
	jl_s64(&line, wallclock_ns(ev->ts_ns, o->mono_to_real_ns));
	json_common(ev);
	jl_lit(&line, ",\"func\":\"");
	jl_cstr(&line, probe_func_name(ev->func_id));
	jl_lit(&line, "\",\"dir\":\"");
	jl_cstr(&line, print_dir_name(ev->dir));
	jl_lit(&line, "\",\"pos\":");
	jl_u64(&line, ev->pos);
	jl_lit(&line, ",\"len\":");
	jl_u64(&line, ev->len);
	jl_lit(&line, ",\"data\":\"");
	/* Encoded in place: output_base64 ends with a NUL, taken back. */
	b64 = jl_room(&line, n + 1);
	if (b64) {
		output_base64(b64, ev->data, ev->len);
		line.len += n;
	}
	jl_lit(&line, "\"");
	json_end(o);
}

static const char *gap_reason_name(enum gap_reason why)
{
	return why == GAP_SNAPLEN ? "snaplen" : "lost";
}

static void json_gap(struct output *o, const struct flow *f, int dir, __u64 pos, __u64 len,
		     enum gap_reason why)
{
	jl_lit(&line, "{\"type\":\"gap\",\"conn\":");
	jl_u64(&line, f->conn_id);
	jl_lit(&line, ",\"pid\":");
	jl_u64(&line, f->pid);
	jl_lit(&line, ",\"dir\":\"");
	jl_cstr(&line, print_dir_name(dir));
	jl_lit(&line, "\",\"pos\":");
	jl_u64(&line, pos);
	jl_lit(&line, ",\"len\":");
	jl_u64(&line, len);
	jl_lit(&line, ",\"reason\":\"");
	jl_cstr(&line, gap_reason_name(why));
	jl_lit(&line, "\"");
	json_end(o);
}

static void json_close(struct output *o, const struct flow *f, enum close_reason why)
{
	jl_lit(&line, "{\"type\":\"close\",\"conn\":");
	jl_u64(&line, f->conn_id);
	jl_lit(&line, ",\"pid\":");
	jl_u64(&line, f->pid);
	jl_lit(&line, ",\"reason\":\"");
	jl_cstr(&line, flow_close_name(why));
	jl_lit(&line, "\",\"bytes_out\":");
	jl_u64(&line, f->s[0].next);
	jl_lit(&line, ",\"bytes_in\":");
	jl_u64(&line, f->s[1].next);
	jl_lit(&line, ",\"lost_out\":");
	jl_u64(&line, f->s[0].lost_bytes);
	jl_lit(&line, ",\"lost_in\":");
	jl_u64(&line, f->s[1].lost_bytes);
	json_who(&f->meta);
	json_end(o);
}

static void json_headers(const struct output *o, const char *key, const struct http_header *h,
			 size_t n)
{
	size_t i;

	jl_cstr(&line, key);
	jl_lit(&line, "[");
	for (i = 0; i < n; i++) {
		if (i)
			jl_lit(&line, ",[");
		else
			jl_lit(&line, "[");
		jl_str_or_null(&line, h[i].name);
		jl_lit(&line, ",");
		jl_str_or_null(&line, output_redacted(o, h[i].name) ? "[redacted]" : h[i].value);
		jl_lit(&line, "]");
	}
	jl_lit(&line, "]");
}

static void json_exchange(struct output *o, const struct flow *fl, const struct http_exchange *x)
{
	char local[64], remote[64];

	output_format_addr(local, sizeof(local), fl->meta.addr.family, fl->meta.addr.laddr,
			   fl->meta.addr.lport);
	output_format_addr(remote, sizeof(remote), fl->meta.addr.family, fl->meta.addr.raddr,
			   fl->meta.addr.rport);
	jl_lit(&line, "{\"type\":\"http\",\"ts_ns\":");
	jl_u64(&line, x->start_ns);
	jl_lit(&line, ",\"proto\":\"");
	jl_cstr(&line, x->proto);
	jl_lit(&line, "\",\"conn\":");
	jl_u64(&line, fl->conn_id);
	if (x->stream_id) {
		jl_lit(&line, ",\"stream\":");
		jl_u64(&line, x->stream_id);
	}
	jl_lit(&line, ",\"pid\":");
	jl_u64(&line, fl->meta.pid);
	jl_lit(&line, ",\"comm\":");
	jl_string(&line, fl->meta.comm, sizeof(fl->meta.comm));
	jl_lit(&line, ",\"local\":");
	jl_str_or_null(&line, local[0] ? local : NULL);
	jl_lit(&line, ",\"remote\":");
	jl_str_or_null(&line, remote[0] ? remote : NULL);
	json_who(&fl->meta);
	jl_lit(&line, ",\"role\":\"");
	jl_cstr(&line, x->client_dir == 0 ? "client" : "server");
	jl_lit(&line, "\",\"method\":");
	jl_str_or_null(&line, x->method);
	jl_lit(&line, ",\"path\":");
	jl_str_or_null(&line, x->path);
	jl_lit(&line, ",\"authority\":");
	jl_str_or_null(&line, x->authority);
	if (x->status) {
		jl_lit(&line, ",\"status\":");
		jl_s64(&line, x->status);
	} else {
		jl_lit(&line, ",\"status\":null");
	}
	json_headers(o, ",\"req_headers\":", x->req_headers, x->n_req_headers);
	json_headers(o, ",\"resp_headers\":", x->resp_headers, x->n_resp_headers);
	json_headers(o, ",\"trailers\":", x->trailers, x->n_trailers);
	jl_lit(&line, ",\"req_body_bytes\":");
	jl_u64(&line, x->req_body_bytes);
	jl_lit(&line, ",\"resp_body_bytes\":");
	jl_u64(&line, x->resp_body_bytes);
	jl_lit(&line, ",\"latency_ns\":");
	jl_u64(&line, x->end_ns > x->start_ns ? x->end_ns - x->start_ns : 0);
	if (x->incomplete)
		jl_lit(&line, ",\"incomplete\":true");
	else
		jl_lit(&line, ",\"incomplete\":false");
	if (x->grpc) {
		jl_lit(&line, ",\"grpc_service\":");
		jl_str_or_null(&line, x->grpc_service);
		jl_lit(&line, ",\"grpc_method\":");
		jl_str_or_null(&line, x->grpc_method);
		if (x->grpc_status >= 0) {
			jl_lit(&line, ",\"grpc_status\":");
			jl_s64(&line, x->grpc_status);
		} else {
			jl_lit(&line, ",\"grpc_status\":null");
		}
		jl_lit(&line, ",\"grpc_message\":");
		jl_str_or_null(&line, x->grpc_message);
		jl_lit(&line, ",\"grpc_req_msgs\":");
		jl_u64(&line, x->req_msgs);
		jl_lit(&line, ",\"grpc_resp_msgs\":");
		jl_u64(&line, x->resp_msgs);
	}
	json_end(o);
}

static void json_note(struct output *o, const struct flow *fl, const char *note)
{
	jl_lit(&line, "{\"type\":\"note\",\"conn\":");
	jl_u64(&line, fl->conn_id);
	jl_lit(&line, ",\"pid\":");
	jl_u64(&line, fl->meta.pid);
	jl_lit(&line, ",\"note\":");
	jl_str_or_null(&line, note);
	json_end(o);
}

static void json_h2_frame(struct output *o, const struct flow *f, int dir, const char *frame,
			  uint8_t flags, uint32_t stream_id, uint32_t length)
{
	jl_lit(&line, "{\"type\":\"h2frame\",\"conn\":");
	jl_u64(&line, f->conn_id);
	jl_lit(&line, ",\"dir\":\"");
	jl_cstr(&line, dir ? "in" : "out");
	jl_lit(&line, "\",\"frame\":\"");
	jl_cstr(&line, frame);
	jl_lit(&line, "\",\"flags\":");
	jl_u64(&line, flags);
	jl_lit(&line, ",\"stream\":");
	jl_u64(&line, stream_id);
	jl_lit(&line, ",\"len\":");
	jl_u64(&line, length);
	json_end(o);
}

const struct printer print_json = {
	.open = json_open, .data = json_data, .gap = json_gap, .close = json_close,
	.exchange = json_exchange, .note = json_note, .h2_frame = json_h2_frame,
};
