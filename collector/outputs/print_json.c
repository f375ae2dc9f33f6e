/* JSON lines: one object per chunk, gap, connection open and close, decoded exchange and note. */
#include <string.h>
#include "wallclock.h"
#include "print.h"
#include "probe_table.h"

/* Every line ends with the fleet's labels, if any, and its newline. */
static void json_end(const struct output *o)
{
	fputs(o->tags, o->f);
	fputs("}\n", o->f);
}

static void json_addr(FILE *f, const char *key, const char *addr)
{
	if (addr[0])
		fprintf(f, ",\"%s\":\"%s\"", key, addr);
	else
		fprintf(f, ",\"%s\":null", key);
}

static void json_common(struct output *o, const struct tlstap_data_event *m)
{
	char local[64], remote[64];

	output_format_addr(local, sizeof(local), m->addr.family, m->addr.laddr, m->addr.lport);
	output_format_addr(remote, sizeof(remote), m->addr.family, m->addr.raddr, m->addr.rport);
	fprintf(o->f, ",\"pid\":%u,\"tid\":%u,\"comm\":", m->pid, m->tid);
	output_json_string(o->f, m->comm, sizeof(m->comm));
	fprintf(o->f, ",\"lib\":\"%s\",\"conn\":%llu", probe_func_lib_name(m->func_id),
		(unsigned long long)m->conn_id);
	if (m->fd >= 0)
		fprintf(o->f, ",\"fd\":%d", m->fd);
	else
		fputs(",\"fd\":null", o->f);
	json_addr(o->f, "local", local);
	json_addr(o->f, "remote", remote);
	output_json_who(o->f, m);
}

static void json_open(struct output *o, const struct flow *f)
{
	fprintf(o->f, "{\"type\":\"conn\",\"ts_ns\":%lld",
		(long long)wallclock_ns(f->meta.ts_ns, o->mono_to_real_ns));
	json_common(o, &f->meta);
	json_end(o);
}

static void json_data(struct output *o, const struct tlstap_data_event *ev)
{
	static char b64buf[4 * ((TLSTAP_CHUNK_MAX + 2) / 3) + 1];

	if (o->no_data)
		return;
	/* One buffer for the largest chunk: no allocation per event. */
	output_base64(b64buf, ev->data, ev->len);
	fprintf(o->f, "{\"type\":\"data\",\"ts_ns\":%lld",
		(long long)wallclock_ns(ev->ts_ns, o->mono_to_real_ns));
	json_common(o, ev);
	fprintf(o->f, ",\"func\":\"%s\",\"dir\":\"%s\",\"pos\":%llu,\"len\":%u,\"data\":\"",
		probe_func_name(ev->func_id), print_dir_name(ev->dir),
		(unsigned long long)ev->pos, ev->len);
	fwrite(b64buf, 1, 4 * ((ev->len + 2) / 3), o->f);
	fputc('"', o->f);
	json_end(o);
}

static void json_gap(struct output *o, const struct flow *f, int dir, __u64 pos, __u64 len,
		     enum gap_reason why)
{
	fprintf(o->f, "{\"type\":\"gap\",\"conn\":%llu,\"pid\":%u,\"dir\":\"%s\",\"pos\":%llu,"
		"\"len\":%llu,\"reason\":\"%s\"",
		(unsigned long long)f->conn_id, f->pid, print_dir_name(dir),
		(unsigned long long)pos, (unsigned long long)len,
		why == GAP_SNAPLEN ? "snaplen" : "lost");
	json_end(o);
}

static void json_close(struct output *o, const struct flow *f, enum close_reason why)
{
	fprintf(o->f, "{\"type\":\"close\",\"conn\":%llu,\"pid\":%u,\"reason\":\"%s\","
		"\"bytes_out\":%llu,\"bytes_in\":%llu,\"lost_out\":%llu,\"lost_in\":%llu",
		(unsigned long long)f->conn_id, f->pid, flow_close_name(why),
		(unsigned long long)f->s[0].next, (unsigned long long)f->s[1].next,
		(unsigned long long)f->s[0].lost_bytes, (unsigned long long)f->s[1].lost_bytes);
	output_json_who(o->f, &f->meta);
	json_end(o);
}

static void json_str(FILE *f, const char *s)
{
	if (s)
		output_json_string(f, s, strlen(s));
	else
		fputs("null", f);
}

static void json_headers(FILE *f, const struct output *o, const char *key,
			 const struct http_header *h, size_t n)
{
	size_t i;

	fprintf(f, ",\"%s\":[", key);
	for (i = 0; i < n; i++) {
		fputs(i ? ",[" : "[", f);
		json_str(f, h[i].name);
		fputc(',', f);
		json_str(f, output_redacted(o, h[i].name) ? "[redacted]" : h[i].value);
		fputc(']', f);
	}
	fputc(']', f);
}

static void json_exchange(struct output *o, const struct flow *fl, const struct http_exchange *x)
{
	FILE *f = o->f;
	char local[64], remote[64];

	output_format_addr(local, sizeof(local), fl->meta.addr.family, fl->meta.addr.laddr,
			   fl->meta.addr.lport);
	output_format_addr(remote, sizeof(remote), fl->meta.addr.family, fl->meta.addr.raddr,
			   fl->meta.addr.rport);
	fprintf(f, "{\"type\":\"http\",\"ts_ns\":%llu,\"proto\":\"%s\",\"conn\":%llu",
		(unsigned long long)x->start_ns, x->proto, (unsigned long long)fl->conn_id);
	if (x->stream_id)
		fprintf(f, ",\"stream\":%u", x->stream_id);
	fprintf(f, ",\"pid\":%u,\"comm\":", fl->meta.pid);
	output_json_string(f, fl->meta.comm, sizeof(fl->meta.comm));
	fputs(",\"local\":", f);
	json_str(f, local[0] ? local : NULL);
	fputs(",\"remote\":", f);
	json_str(f, remote[0] ? remote : NULL);
	output_json_who(f, &fl->meta);
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
	json_headers(f, o, "req_headers", x->req_headers, x->n_req_headers);
	json_headers(f, o, "resp_headers", x->resp_headers, x->n_resp_headers);
	json_headers(f, o, "trailers", x->trailers, x->n_trailers);
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
	json_end(o);
}

static void json_note(struct output *o, const struct flow *fl, const char *note)
{
	fprintf(o->f, "{\"type\":\"note\",\"conn\":%llu,\"pid\":%u,\"note\":",
		(unsigned long long)fl->conn_id, fl->meta.pid);
	json_str(o->f, note);
	json_end(o);
}

static void json_h2_frame(struct output *o, const struct flow *f, int dir, const char *frame,
			  uint8_t flags, uint32_t stream_id, uint32_t length)
{
	fprintf(o->f, "{\"type\":\"h2frame\",\"conn\":%llu,\"dir\":\"%s\",\"frame\":\"%s\","
		"\"flags\":%u,\"stream\":%u,\"len\":%u", (unsigned long long)f->conn_id,
		dir ? "in" : "out", frame, flags, stream_id, length);
	json_end(o);
}

const struct printer print_json = {
	.open = json_open, .data = json_data, .gap = json_gap, .close = json_close,
	.exchange = json_exchange, .note = json_note, .h2_frame = json_h2_frame,
};
