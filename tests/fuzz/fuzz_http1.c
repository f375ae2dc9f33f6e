/* libFuzzer target: hostile HTTP/1 byte streams, cut and interleaved any way, through httpdec.
 * Seeds: testdata/http/seeds-h1 (made by testdata/http/regen.sh). */
#include "fuzz_httpdec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_httpdec(data, size, false);
}
