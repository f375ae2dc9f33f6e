/* libFuzzer target: hostile ring records through the flow table and every printer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flows.h"
#include "output.h"
#include "raw_view.h"

/*
 * Input: a sequence of [u16 little-endian size][size bytes] records; a size
 * of 0xffff is a sweep instead. The output mode comes from the first byte.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
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
	ft = flows_new(&raw_view_callbacks, &out, 1 + (data[0] & 7));
	if (!ft)
		return 0;
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
	return 0;
}
