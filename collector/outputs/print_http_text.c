/* Text: a decoded HTTP exchange as one summary line, its headers and a preview of each body. */
#include <string.h>
#include <time.h>
#include "print.h"

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

void print_text_str(FILE *f, const char *s, size_t max)
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

static void text_headers(FILE *f, const struct output *o, const char *arrow,
			 const struct http_header *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fprintf(f, "  %s ", arrow);
		print_text_str(f, h[i].name, 256);
		fputs(": ", f);
		if (output_redacted(o, h[i].name))
			fputs("[redacted]", f);
		else
			print_text_str(f, h[i].value, 4096);
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

void print_text_exchange(struct output *o, const struct flow *fl, const struct http_exchange *x)
{
	FILE *f = o->f;
	char when[32], cli[64], srv[64], comm[OUTPUT_COMM_SIZE], tag[OUTPUT_TAG_SIZE];
	time_t secs = (time_t)(x->start_ns / 1000000000ull);
	struct tm tm;

	output_end_block(o);
	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	output_safe_comm(comm, fl->meta.comm);
	fmt_addrs(&fl->meta, x->client_dir, cli, srv, sizeof(cli));
	fprintf(f, "%s.%06llu %s[%u]%s conn %llu %s -> %s %s", when,
		(unsigned long long)(x->start_ns % 1000000000ull) / 1000, comm, fl->meta.pid,
		output_container_tag(tag, &fl->meta), (unsigned long long)fl->conn_id, cli, srv, x->proto);
	if (x->stream_id)
		fprintf(f, " stream %u", x->stream_id);
	fputc(' ', f);
	print_text_str(f, str_or(x->method, "?"), 64);
	fputc(' ', f);
	print_text_str(f, str_or(x->path, "?"), 2048);
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
		print_text_str(f, str_or(x->grpc_service, "?"), 256);
		fputc('/', f);
		print_text_str(f, str_or(x->grpc_method, "?"), 256);
		fprintf(f, " status %d messages %u/%u", x->grpc_status, x->req_msgs, x->resp_msgs);
		if (x->grpc_message) {
			fputs(" message ", f);
			print_text_str(f, x->grpc_message, 512);
		}
		fputc('\n', f);
	}
	text_headers(f, o, ">", x->req_headers, x->n_req_headers);
	text_body(f, ">", x->req_body, x->req_body_len, x->req_body_bytes, o->body_preview);
	text_headers(f, o, "<", x->resp_headers, x->n_resp_headers);
	text_body(f, "<", x->resp_body, x->resp_body_len, x->resp_body_bytes, o->body_preview);
	text_headers(f, o, "< trailer", x->trailers, x->n_trailers);
}

