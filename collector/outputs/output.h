/* Live printers of ordered flows: text, JSON lines, hex, or nothing. */
#ifndef TLSTAP_OUTPUT_H
#define TLSTAP_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "flows.h"
#include "log.h"
#include "opts.h"

/* What every line of captured bytes in the text view starts with. */
#define TEXT_INDENT	"  "

struct output {
	enum out_mode mode;
	FILE *f;
	__s64 mono_to_real_ns;	/* add to bpf_ktime_get_ns() for wall-clock time */
	__u64 max_events;	/* -c: 0 = unlimited */
	__u64 events;		/* data events printed */
	__u64 bytes;		/* plaintext bytes printed */
	/* Text and hex: the stream whose block is open, to skip repeated headers. */
	__u64 block_conn;
	int block_dir;
	bool at_line_start;
	struct http_view *hv;	/* decoded HTTP view, or NULL (--raw) */
	bool no_data;		/* JSON: leave data events out (--no-data) */
};

void output_init(struct output *o, enum out_mode mode, FILE *f, __u64 max_events);
/* The callbacks to give flows_new(), with the struct output as ctx. */
extern const struct flow_callbacks output_callbacks;
/* Ends an open text block with its newline; call once after flows_finish(). */
void output_finish(struct output *o);
/* Ends the open raw block so other lines can follow. */
void output_end_block(struct output *o);
/* The raw text or hex view of one chunk (HTTP bytes that turned out not to be). */
void output_print_raw(struct output *o, const struct tlstap_data_event *ev);
/* -c reached: the caller should stop. */
bool output_done(const struct output *o);

/* comm with every byte a terminal could act on as \xNN (log_escape()): out holds OUTPUT_COMM_SIZE. */
#define OUTPUT_COMM_SIZE	LOG_ESCAPED_SIZE(TLSTAP_COMM_LEN)
void output_safe_comm(char *out, const char *comm);
/* Formats "1.2.3.4:80", "[::1]:443" or "" (unknown) into buf. */
void output_format_addr(char *buf, size_t len, __u16 family, const __u8 *addr, __u16 port);
/* Standard base64 of len bytes into out (4 * ((len + 2) / 3) + 1 bytes). */
void output_base64(char *out, const __u8 *in, size_t len);
/* Writes s as a JSON string literal (with quotes), escaping every byte that must be. */
void output_json_string(FILE *f, const char *s, size_t len);

#endif
