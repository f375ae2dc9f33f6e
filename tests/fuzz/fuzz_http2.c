/* libFuzzer target: hostile HTTP/2 byte streams (preface and SETTINGS optionally given), cut any
 * way, through httpdec. Seeds: testdata/http/seeds-h2 (made by testdata/http/regen.sh). */
#include "fuzz_httpdec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_httpdec(data, size, true);
}
