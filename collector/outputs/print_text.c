/* Text and hex: raw blocks of plaintext under a header line, and tlstap's own bracketed lines. */
#include <string.h>
#include <time.h>
#include "wallclock.h"
#include "print.h"
#include "probe_table.h"

static void text_header(struct output *o, const struct tlstap_data_event *ev)
{
	char local[64], remote[64], when[32], comm[OUTPUT_COMM_SIZE], tag[OUTPUT_TAG_SIZE];
	__s64 real = wallclock_ns(ev->ts_ns, o->mono_to_real_ns);
	time_t secs = (time_t)(real / 1000000000);
	struct tm tm;

	output_end_block(o);
	output_format_addr(local, sizeof(local), ev->addr.family, ev->addr.laddr, ev->addr.lport);
	output_format_addr(remote, sizeof(remote), ev->addr.family, ev->addr.raddr, ev->addr.rport);
	output_safe_comm(comm, ev->comm);
	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(o->f, "%s.%06lld %s[%u/%u]%s %s %s %s %s %s %s %u bytes conn %llu pos %llu\n",
		when, (long long)(real % 1000000000) / 1000, comm,
		ev->pid, ev->tid, output_container_tag(tag, ev), probe_func_lib_name(ev->func_id), probe_func_name(ev->func_id),
		local[0] ? local : "?", ev->dir ? "<-" : "->", remote[0] ? remote : "?",
		print_dir_name(ev->dir), ev->len, (unsigned long long)ev->conn_id,
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

static void text_raw(struct output *o, const struct tlstap_data_event *ev)
{
	if (o->block_dir != ev->dir || o->block_conn != ev->conn_id)
		text_header(o, ev);
	if (o->mode == OUT_TEXT)
		text_payload(o, ev->data, ev->len);
	else
		hex_payload(o, ev->data, ev->len, ev->pos);
}

static void text_gap(struct output *o, const struct flow *f, int dir, __u64 pos, __u64 len,
		     enum gap_reason why)
{
	output_end_block(o);
	fprintf(o->f, "[tlstap: conn %llu %s: %llu bytes %s at pos %llu]\n",
		(unsigned long long)f->conn_id, print_dir_name(dir), (unsigned long long)len,
		why == GAP_SNAPLEN ? "not captured (snaplen)" : "lost", (unsigned long long)pos);
}

static void text_close(struct output *o, const struct flow *f, enum close_reason why)
{
	char comm[OUTPUT_COMM_SIZE], tag[OUTPUT_TAG_SIZE];

	if (why == CLOSE_END)
		return;	/* still open when tlstap stopped: nothing happened */
	output_safe_comm(comm, f->meta.comm);
	output_end_block(o);
	fprintf(o->f, "[tlstap: conn %llu %s[%u]%s ended (%s): %llu bytes out, %llu bytes in]\n",
		(unsigned long long)f->conn_id, comm, f->pid, output_container_tag(tag, &f->meta),
		flow_close_name(why),
		(unsigned long long)f->s[0].next, (unsigned long long)f->s[1].next);
}

static void text_note(struct output *o, const struct flow *f, const char *note)
{
	output_end_block(o);
	fprintf(o->f, "[tlstap: conn %llu: ", (unsigned long long)f->conn_id);
	print_text_str(o->f, note, 256);
	fputs("]\n", o->f);
}

static void text_h2_frame(struct output *o, const struct flow *f, int dir, const char *frame,
			  uint8_t flags, uint32_t stream_id, uint32_t length)
{
	output_end_block(o);
	fprintf(o->f, "[tlstap: conn %llu h2 %s %s stream %u flags 0x%02x %u bytes]\n",
		(unsigned long long)f->conn_id, dir ? "in" : "out", frame, stream_id, flags, length);
}

const struct printer print_text = {
	.data = text_raw, .raw = text_raw, .gap = text_gap, .close = text_close,
	.exchange = print_text_exchange, .note = text_note, .h2_frame = text_h2_frame,
};
