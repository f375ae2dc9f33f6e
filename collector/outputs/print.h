/* The printers behind output.h, one per format: text (with hex) and JSON lines. */
#ifndef TLSTAP_PRINT_H
#define TLSTAP_PRINT_H

#include "output.h"

/* One format's writer of each record; NULL: the format has no such line. */
struct printer {
	void (*open)(struct output *o, const struct flow *f);
	void (*data)(struct output *o, const struct tlstap_data_event *ev);
	void (*raw)(struct output *o, const struct tlstap_data_event *ev);
	void (*gap)(struct output *o, const struct flow *f, int dir, __u64 pos, __u64 len,
		    enum gap_reason why);
	void (*close)(struct output *o, const struct flow *f, enum close_reason why);
	void (*exchange)(struct output *o, const struct flow *f, const struct http_exchange *x);
	void (*note)(struct output *o, const struct flow *f, const char *note);
	void (*h2_frame)(struct output *o, const struct flow *f, int dir, const char *frame,
			 uint8_t flags, uint32_t stream_id, uint32_t length);
};

/* print_text.c: raw blocks (text or hex) and tlstap's own bracketed lines. */
extern const struct printer print_text;
/* print_json.c */
extern const struct printer print_json;

/* print_http_text.c: the text of a decoded exchange. */
void print_text_exchange(struct output *o, const struct flow *f, const struct http_exchange *x);
/* Header values and paths come from the traced traffic: escape for a terminal. */
void print_text_str(FILE *f, const char *s, size_t max);

const char *print_dir_name(int dir);

#endif
