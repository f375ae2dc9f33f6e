/* The printer: records from the raw and decoded views written as text, JSON lines or hex. */
#ifndef TLSTAP_OUTPUT_H
#define TLSTAP_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "flows.h"
#include "httpdec.h"
#include "log.h"
#include "opts.h"

/* ,"host":...,"run_id":... with each value escaped (at worst two bytes per byte). */
#define OUTPUT_TAGS_SIZE	(2 * (2 * OPTS_LABEL_MAX + 2) + 32)

/* What every line of captured bytes in the text view starts with. */
#define TEXT_INDENT	"  "

/*
 * The printer owns the output stream and nothing else: the views decide
 * what to show and hand it over as records; it never calls them back.
 */
struct printer;

struct output {
	enum out_mode mode;
	const struct printer *pr;	/* the mode's; NULL: none */
	FILE *f;
	__s64 mono_to_real_ns;	/* add to bpf_ktime_get_ns() for wall-clock time */
	__u64 max_events;	/* -c: 0 = unlimited */
	__u64 events;		/* data events printed */
	__u64 bytes;		/* plaintext bytes printed */
	/* Text and hex: the stream whose block is open, to skip repeated headers. */
	__u64 block_conn;
	int block_dir;
	bool at_line_start;
	bool no_data;		/* JSON: leave data events out (--no-data) */
	/* Text with the decoded view: chunks are printed by it (raw when not HTTP), not by the raw view. */
	bool data_to_view;
	/* Decoded exchanges: body bytes shown (--body), header values masked (--redact). */
	size_t body_preview;
	const char *const *redact;
	int nredact;
	/* JSON: the fleet's labels (--host, --run-id) that end every line; "" without them. */
	char tags[OUTPUT_TAGS_SIZE];
};

void output_init(struct output *o, enum out_mode mode, FILE *f, __u64 max_events);
/* Sets the labels every JSON line carries (NULL: that one is left out). */
int output_set_tags(struct output *o, const char *host, const char *run_id);
/* Ends an open text block with its newline; call once after flows_finish(). */
void output_finish(struct output *o);
/* Ends the open raw block so other lines can follow. */
void output_end_block(struct output *o);
/* -c reached: the caller should stop. */
bool output_done(const struct output *o);

/* ---- Records. Each is printed in the printer's mode (none: nothing). */
/* A connection seen for the first time (JSON only). */
void output_open(struct output *o, const struct flow *f);
/* A chunk of plaintext: a raw block (text, hex) or a data line (JSON, unless no_data). */
void output_data(struct output *o, const struct tlstap_data_event *ev);
/* The raw text or hex view of one chunk only (bytes the decoder found not to be HTTP). */
void output_raw(struct output *o, const struct tlstap_data_event *ev);
void output_gap(struct output *o, const struct flow *f, int dir, __u64 pos, __u64 len,
		enum gap_reason why);
void output_close(struct output *o, const struct flow *f, enum close_reason why);
/* A decoded HTTP exchange of f. */
void output_exchange(struct output *o, const struct flow *f, const struct http_exchange *x);
/* A one-line note of the decoder on f. */
void output_note(struct output *o, const struct flow *f, const char *note);
/* An HTTP/2 frame of f the decoder could only name. */
void output_h2_frame(struct output *o, const struct flow *f, int dir, const char *frame,
		     uint8_t flags, uint32_t stream_id, uint32_t length);

/* ---- Formatting shared by the printers (print_fmt.c). */
/* comm with every byte a terminal could act on as \xNN (log_escape()): out holds OUTPUT_COMM_SIZE. */
#define OUTPUT_COMM_SIZE	LOG_ESCAPED_SIZE(TLSTAP_COMM_LEN)
void output_safe_comm(char *out, const char *comm);
/* "@" and the first 12 digits of the container id of m's cgroup, or "" (out
 * holds OUTPUT_TAG_SIZE); out is returned. */
#define OUTPUT_TAG_SIZE	16
const char *output_container_tag(char *out, const struct tlstap_data_event *m);
/* Formats "1.2.3.4:80", "[::1]:443" or "" (unknown) into buf. */
void output_format_addr(char *buf, size_t len, __u16 family, const __u8 *addr, __u16 port);
/* Standard base64 of len bytes into out (4 * ((len + 2) / 3) + 1 bytes). */
void output_base64(char *out, const __u8 *in, size_t len);
/* Whether the printer masks the values of header name. */
bool output_redacted(const struct output *o, const char *name);

#endif
