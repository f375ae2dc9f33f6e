/* libFuzzer target: hostile ring records through the flow table and every printer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flows.h"
#include "http_view.h"
#include "output.h"
#include "raw_view.h"
#include "sinks.h"

/*
 * Input: a sequence of [u16 little-endian size][size bytes] records; a size
 * of 0xffff is a sweep instead. The output mode comes from the first byte,
 * and with 0x40 set the decoded view sees the flows too, in time order.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct http_view_opts ho = { .body_preview = 64 };
	struct http_view *hv = NULL;
	struct sinks sinks = {};
	struct flow_table *ft;
	struct output out;
	size_t off = 1;
	uint16_t len;
	void *rec;

	if (size < 1)
		return 0;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	output_init(&out, (enum out_mode)(data[0] % 4), devnull, data[0] & 0x80 ? 3 : 0);
	if ((data[0] & 0x40) && (out.mode == OUT_TEXT || out.mode == OUT_JSON) &&
	    !http_view_new(&hv, &ho, &out)) {
		out.data_to_view = out.mode == OUT_TEXT;
		http_view_attach(hv, &sinks);
	}
	sinks_add(&sinks, &raw_view_callbacks, &out, NULL);
	ft = flows_new(sinks_callbacks(&sinks), &sinks, 1 + (data[0] & 7));
	if (!ft) {
		http_view_free(hv);
		return 0;
	}
	while (off + 2 <= size) {
		memcpy(&len, data + off, 2);
		off += 2;
		if (len == 0xffff) {
			flows_sweep(ft);
			continue;
		}
		if (len > size - off)
			len = (uint16_t)(size - off);
		/* A private copy of exactly len bytes: ASan sees any overread. */
		rec = malloc(len ? len : 1);
		if (!rec)
			break;
		memcpy(rec, data + off, len);
		flows_record(ft, rec, len);
		free(rec);
		off += len;
	}
	flows_sweep(ft);
	flows_finish(ft);
	output_finish(&out);
	flows_free(ft);
	http_view_free(hv);
	return 0;
}
