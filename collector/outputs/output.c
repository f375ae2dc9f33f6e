/* Prints ordered plaintext chunks, gaps and connection ends in the chosen format. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "wallclock.h"
#include "output.h"
#include "http_view.h"
#include "probe_table.h"

void output_init(struct output *o, enum out_mode mode, FILE *f, __u64 max_events)
{
	struct timespec mono, real;

	memset(o, 0, sizeof(*o));
	o->mode = mode;
	o->f = f;
	o->max_events = max_events;
	o->block_dir = -1;
	o->at_line_start = true;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	o->mono_to_real_ns = ((__s64)real.tv_sec - mono.tv_sec) * 1000000000ll +
			     ((__s64)real.tv_nsec - mono.tv_nsec);
}

bool output_done(const struct output *o)
{
	return o->max_events && o->events >= o->max_events;
}

void output_format_addr(char *buf, size_t len, __u16 family, const __u8 *addr, __u16 port)
{
	char ip[INET6_ADDRSTRLEN];

	if (family == AF_INET && inet_ntop(AF_INET, addr, ip, sizeof(ip)))
		snprintf(buf, len, "%s:%u", ip, port);
	else if (family == AF_INET6 && inet_ntop(AF_INET6, addr, ip, sizeof(ip)))
		snprintf(buf, len, "[%s]:%u", ip, port);
	else if (family == AF_UNIX)
		snprintf(buf, len, "unix");
	else if (len)
		buf[0] = '\0';
}

/* Base64 digit pairs for every 12-bit value: two output characters per lookup. */
static char b64_pairs[4096][2];

static void b64_init(void)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int i;

	for (i = 0; i < 4096; i++) {
		b64_pairs[i][0] = tbl[i >> 6];
		b64_pairs[i][1] = tbl[i & 63];
	}
}

/* Encoding is the JSON output's hottest loop: 3 bytes per step, 2 lookups. */
void output_base64(char *out, const __u8 *in, size_t len)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static bool ready;
	size_t i;
	__u32 v;

	if (!ready) {
		b64_init();
		ready = true;
	}
	for (i = 0; i + 2 < len; i += 3) {
		v = (__u32)in[i] << 16 | (__u32)in[i + 1] << 8 | in[i + 2];
		memcpy(out, b64_pairs[v >> 12], 2);
		memcpy(out + 2, b64_pairs[v & 0xfff], 2);
		out += 4;
	}
	if (len - i == 1) {
		v = (__u32)in[i] << 16;
		*out++ = tbl[v >> 18];
		*out++ = tbl[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (len - i == 2) {
		v = (__u32)in[i] << 16 | (__u32)in[i + 1] << 8;
		*out++ = tbl[v >> 18];
		*out++ = tbl[(v >> 12) & 63];
		*out++ = tbl[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

void output_json_string(FILE *f, const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	fputc('"', f);
	for (i = 0; i < len && s[i]; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			/* Bytes, not UTF-8: each one its own code point, never invalid JSON. */
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *dir_name(int dir)
{
	return dir ? "in" : "out";
}

static void addrs(const struct tlstap_data_event *m, char *local, char *remote, size_t len)
{
	output_format_addr(local, len, m->addr.family, m->addr.laddr, m->addr.lport);
	output_format_addr(remote, len, m->addr.family, m->addr.raddr, m->addr.rport);
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

	addrs(m, local, remote, sizeof(local));
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
}

void output_end_block(struct output *o)
{
	if (!o->at_line_start)
		fputc('\n', o->f);
	o->at_line_start = true;
	o->block_dir = -1;
}

/* comm is chosen by the traced process: never send its control bytes to a terminal. */
void output_safe_comm(char *out, const char *comm)
{
	log_escape(out, OUTPUT_COMM_SIZE, comm, TLSTAP_COMM_LEN);
}

void output_finish(struct output *o)
{
	if (o->mode == OUT_TEXT || o->mode == OUT_HEX)
		output_end_block(o);
}

static void text_header(struct output *o, const struct tlstap_data_event *ev)
{
	char local[64], remote[64], when[32], comm[OUTPUT_COMM_SIZE];
	__s64 real = wallclock_ns(ev->ts_ns, o->mono_to_real_ns);
	time_t secs = (time_t)(real / 1000000000);
	struct tm tm;

	output_end_block(o);
	addrs(ev, local, remote, sizeof(local));
	output_safe_comm(comm, ev->comm);
	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(o->f, "%s.%06lld %s[%u/%u] %s %s %s %s %s %s %u bytes conn %llu pos %llu\n",
		when, (long long)(real % 1000000000) / 1000, comm,
		ev->pid, ev->tid, probe_func_lib_name(ev->func_id), probe_func_name(ev->func_id),
		local[0] ? local : "?", ev->dir ? "<-" : "->", remote[0] ? remote : "?",
		dir_name(ev->dir), ev->len, (unsigned long long)ev->conn_id,
		(unsigned long long)ev->pos);
	o->block_conn = ev->conn_id;
	o->block_dir = ev->dir;
}

/*
 * Printable ASCII as is, CRLF as a line end, every other byte as \xNN. Every
 * line of captured bytes starts with TEXT_INDENT: tlstap's own lines start
 * in column 0, so a traced program cannot forge them (nor can grep mistake
 * its bytes for them).
 */
static void text_payload(struct output *o, const __u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		if (o->at_line_start)
			fputs(TEXT_INDENT, o->f);
		if (p[i] == '\n' || p[i] == '\t' || (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\'))
			fputc(p[i], o->f);
		else if (p[i] == '\\')
			fputs("\\\\", o->f);
		else
			fprintf(o->f, "\\x%02x", p[i]);
		o->at_line_start = p[i] == '\n';
	}
}

static void hex_payload(struct output *o, const __u8 *p, size_t len, __u64 pos)
{
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		fprintf(o->f, "  %08llx  ", (unsigned long long)(pos + i));
		for (j = 0; j < 16; j++) {
			if (i + j < len)
				fprintf(o->f, "%02x ", p[i + j]);
			else
				fputs("   ", o->f);
			if (j == 7)
				fputc(' ', o->f);
		}
		fputs(" |", o->f);
		for (j = 0; j < 16 && i + j < len; j++)
			fputc(p[i + j] >= 0x20 && p[i + j] < 0x7f ? p[i + j] : '.', o->f);
		fputs("|\n", o->f);
	}
	o->at_line_start = true;
}

void output_print_raw(struct output *o, const struct tlstap_data_event *ev)
{
	if (o->mode != OUT_TEXT && o->mode != OUT_HEX)
		return;
	if (o->block_dir != ev->dir || o->block_conn != ev->conn_id)
		text_header(o, ev);
	if (o->mode == OUT_TEXT)
		text_payload(o, ev->data, ev->len);
	else
		hex_payload(o, ev->data, ev->len, ev->pos);
}

static void on_data(void *ctx, const struct flow *f, const struct tlstap_data_event *ev)
{
	static char b64buf[4 * ((TLSTAP_CHUNK_MAX + 2) / 3) + 1];
	struct output *o = ctx;

	if (output_done(o) || ev->len > TLSTAP_CHUNK_MAX)
		return;
	o->events++;
	o->bytes += ev->len;
	switch (o->mode) {
	case OUT_TEXT:
	case OUT_HEX:
		/* The decoded view shows HTTP streams (or holds them until it knows). */
		if (o->mode == OUT_TEXT && o->hv && http_view_takes(o->hv, f, ev))
			break;
		output_print_raw(o, ev);
		break;
	case OUT_JSON:
		if (o->no_data)
			break;
		/* One buffer for the largest chunk: no allocation per event. */
		output_base64(b64buf, ev->data, ev->len);
		fprintf(o->f, "{\"type\":\"data\",\"ts_ns\":%lld",
			(long long)wallclock_ns(ev->ts_ns, o->mono_to_real_ns));
		json_common(o, ev);
		fprintf(o->f, ",\"func\":\"%s\",\"dir\":\"%s\",\"pos\":%llu,\"len\":%u,\"data\":\"",
			probe_func_name(ev->func_id), dir_name(ev->dir),
			(unsigned long long)ev->pos, ev->len);
		fwrite(b64buf, 1, 4 * ((ev->len + 2) / 3), o->f);
		fputs("\"}\n", o->f);
		break;
	case OUT_NONE:
		break;
	}
}

static void on_open(void *ctx, const struct flow *f)
{
	struct output *o = ctx;

	if (o->mode != OUT_JSON || output_done(o))
		return;
	fprintf(o->f, "{\"type\":\"conn\",\"ts_ns\":%lld",
		(long long)wallclock_ns(f->meta.ts_ns, o->mono_to_real_ns));
	json_common(o, &f->meta);
	fputs("}\n", o->f);
}

static void on_gap(void *ctx, const struct flow *f, int dir, __u64 pos, __u64 len,
		   enum gap_reason why)
{
	struct output *o = ctx;
	const char *reason = why == GAP_SNAPLEN ? "snaplen" : "lost";

	if (output_done(o))
		return;
	switch (o->mode) {
	case OUT_TEXT:
	case OUT_HEX:
		output_end_block(o);
		fprintf(o->f, "[tlstap: conn %llu %s: %llu bytes %s at pos %llu]\n",
			(unsigned long long)f->conn_id, dir_name(dir), (unsigned long long)len,
			why == GAP_SNAPLEN ? "not captured (snaplen)" : "lost",
			(unsigned long long)pos);
		break;
	case OUT_JSON:
		fprintf(o->f, "{\"type\":\"gap\",\"conn\":%llu,\"pid\":%u,\"dir\":\"%s\",\"pos\":%llu,"
			"\"len\":%llu,\"reason\":\"%s\"}\n",
			(unsigned long long)f->conn_id, f->pid, dir_name(dir),
			(unsigned long long)pos, (unsigned long long)len, reason);
		break;
	case OUT_NONE:
		break;
	}
}

static const char *close_name(enum close_reason why)
{
	switch (why) {
	case CLOSE_FD:
		return "close";
	case CLOSE_EXIT:
		return "exit";
	case CLOSE_EVICTED:
		return "evicted";
	default:
		return "end";
	}
}

static void on_close(void *ctx, const struct flow *f, enum close_reason why)
{
	struct output *o = ctx;
	char comm[OUTPUT_COMM_SIZE];

	if (output_done(o))
		return;
	output_safe_comm(comm, f->meta.comm);
	switch (o->mode) {
	case OUT_TEXT:
	case OUT_HEX:
		if (why == CLOSE_END)
			return;	/* still open when tlstap stopped: nothing happened */
		output_end_block(o);
		fprintf(o->f, "[tlstap: conn %llu %s[%u] ended (%s): %llu bytes out, %llu bytes in]\n",
			(unsigned long long)f->conn_id, comm, f->pid,
			close_name(why), (unsigned long long)f->s[0].next,
			(unsigned long long)f->s[1].next);
		break;
	case OUT_JSON:
		fprintf(o->f, "{\"type\":\"close\",\"conn\":%llu,\"pid\":%u,\"reason\":\"%s\","
			"\"bytes_out\":%llu,\"bytes_in\":%llu,\"lost_out\":%llu,\"lost_in\":%llu}\n",
			(unsigned long long)f->conn_id, f->pid, close_name(why),
			(unsigned long long)f->s[0].next, (unsigned long long)f->s[1].next,
			(unsigned long long)f->s[0].lost_bytes, (unsigned long long)f->s[1].lost_bytes);
		break;
	case OUT_NONE:
		break;
	}
}

const struct flow_callbacks output_callbacks = {
	.on_open = on_open,
	.on_data = on_data,
	.on_gap = on_gap,
	.on_close = on_close,
};
