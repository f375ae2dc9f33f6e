/* libFuzzer target: hostile cgroup paths through container_parse_path; what it names must be well-formed and taken from the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "container.h"

static void check_uid(const char *u)
{
	size_t i;

	if (strlen(u) != POD_UID_LEN)
		__builtin_trap();
	for (i = 0; i < POD_UID_LEN; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? u[i] != '-' :
		    !container_is_hex(&u[i], 1))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct container_info ci;
	char *path = malloc(size + 1);
	bool named;

	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	named = container_parse_path(path, &ci);
	if (named != (ci.runtime != CTR_NONE || ci.pod_uid[0] != '\0'))
		__builtin_trap();
	if (ci.runtime != CTR_NONE) {
		if (!container_runtime_name(ci.runtime) || strlen(ci.id) != CONTAINER_ID_LEN ||
		    !container_is_hex(ci.id, CONTAINER_ID_LEN) || !strstr(path, ci.id))
			__builtin_trap();
	} else if (ci.id[0]) {
		__builtin_trap();
	}
	if (ci.pod_uid[0])
		check_uid(ci.pod_uid);
	free(path);
	return 0;
}
