/* The printer: each record goes to the text (and hex) or JSON printer of the chosen mode. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "jsonline.h"
#include "print.h"

void output_init(struct output *o, enum out_mode mode, FILE *f, __u64 max_events)
{
	struct timespec mono, real;

	memset(o, 0, sizeof(*o));
	o->mode = mode;
	o->f = f;
	o->max_events = max_events;
	o->block_dir = -1;
	o->at_line_start = true;
	/* Hex is text's raw blocks in another form: one printer for both. */
	o->pr = mode == OUT_JSON ? &print_json : mode == OUT_NONE ? NULL : &print_text;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	o->mono_to_real_ns = ((__s64)real.tv_sec - mono.tv_sec) * 1000000000ll +
			     ((__s64)real.tv_nsec - mono.tv_nsec);
}

int output_set_tags(struct output *o, const char *host, const char *run_id)
{
	struct jsonline l = { 0 };
	int err = 0;

	if (host) {
		jl_lit(&l, ",\"host\":");
		jl_string(&l, host, strlen(host));
	}
	if (run_id) {
		jl_lit(&l, ",\"run_id\":");
		jl_string(&l, run_id, strlen(run_id));
	}
	/* Never half a label: every JSON line ends with these. */
	if (l.failed)
		err = -ENOMEM;
	else if (l.len >= sizeof(o->tags))
		err = -EIO;
	else if (l.len)
		memcpy(o->tags, l.p, l.len);
	o->tags[err ? 0 : l.len] = '\0';
	jl_free(&l);
	return err;
}

bool output_done(const struct output *o)
{
	return o->max_events && o->events >= o->max_events;
}

void output_end_block(struct output *o)
{
	if (!o->at_line_start)
		fputc('\n', o->f);
	o->at_line_start = true;
	o->block_dir = -1;
}

void output_finish(struct output *o)
{
	if (o->mode == OUT_TEXT || o->mode == OUT_HEX)
		output_end_block(o);
}

/*
 * The printer for a record -c has not cut off, if the mode has one: data
 * counted as printed is never cut off here (the raw view checks first).
 */
static const struct printer *live(const struct output *o)
{
	static const struct printer none;

	return o->pr && !output_done(o) ? o->pr : &none;
}

void output_open(struct output *o, const struct flow *f)
{
	if (live(o)->open)
		o->pr->open(o, f);
}

void output_data(struct output *o, const struct tlstap_data_event *ev)
{
	if (o->pr && o->pr->data)
		o->pr->data(o, ev);
}

void output_raw(struct output *o, const struct tlstap_data_event *ev)
{
	if (o->pr && o->pr->raw)
		o->pr->raw(o, ev);
}

void output_gap(struct output *o, const struct flow *f, int dir, __u64 pos, __u64 len,
		enum gap_reason why)
{
	if (live(o)->gap)
		o->pr->gap(o, f, dir, pos, len, why);
}

void output_close(struct output *o, const struct flow *f, enum close_reason why)
{
	if (live(o)->close)
		o->pr->close(o, f, why);
}

void output_exchange(struct output *o, const struct flow *f, const struct http_exchange *x)
{
	if (live(o)->exchange)
		o->pr->exchange(o, f, x);
}

void output_note(struct output *o, const struct flow *f, const char *note)
{
	if (live(o)->note)
		o->pr->note(o, f, note);
}

void output_h2_frame(struct output *o, const struct flow *f, int dir, const char *frame,
		     uint8_t flags, uint32_t stream_id, uint32_t length)
{
	if (live(o)->h2_frame)
		o->pr->h2_frame(o, f, dir, frame, flags, stream_id, length);
}
