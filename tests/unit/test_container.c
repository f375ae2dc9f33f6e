/* Unit tests of container_parse_path(): real-shaped cgroup paths of each runtime and driver, nested ones, and bad ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include "container.h"

#define ID1 "3f4e1b2c9d8a7f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918071a2"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "5d2b1f3c-8e7a-4b6d-9c0e-1f2a3b4c5d6e"
#define UID_ "5d2b1f3c_8e7a_4b6d_9c0e_1f2a3b4c5d6e"

struct row {
	const char *path;
	int runtime;		/* CTR_NONE: no container */
	const char *id;		/* "" when none */
	const char *pod;	/* "" when none */
};

static const struct row rows[] = {
	/* Docker: systemd driver, cgroupfs driver, docker in docker. */
	{ "/system.slice/docker-" ID1 ".scope", CTR_DOCKER, ID1, "" },
	{ "/docker/" ID1, CTR_DOCKER, ID1, "" },
	{ "/docker/" ID1 "/docker/" ID2, CTR_DOCKER, ID2, "" },
	{ "/system.slice/docker-" ID1 ".scope/docker/" ID2, CTR_DOCKER, ID2, "" },
	/* Kubernetes with containerd, CRI-O, and the cgroupfs driver. */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/"
	  "cri-containerd-" ID1 ".scope", CTR_CONTAINERD, ID1, UID },
	{ "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID2 ".scope", CTR_CRIO, ID2, UID },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/"
	  "crio-conmon-" ID2 ".scope", CTR_NONE, "", UID },
	{ "/kubepods/burstable/pod" UID "/" ID1, CTR_CRI, ID1, UID },
	{ "/kubepods/pod" UID "/" ID2, CTR_CRI, ID2, UID },
	{ "/kubepods/besteffort/pod" UID, CTR_NONE, "", UID },
	/* kind: a node inside a Docker container, its pods inside. */
	{ "/system.slice/docker-" ID1 ".scope/kubelet.slice/kubelet-kubepods.slice/"
	  "kubelet-kubepods-besteffort.slice", CTR_DOCKER, ID1, "" },
	/* Podman: systemd (with its inner "container" cgroup) and cgroupfs. */
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID1 ".scope/container",
	  CTR_PODMAN, ID1, "" },
	{ "/machine.slice/libpod-" ID2 ".scope", CTR_PODMAN, ID2, "" },
	{ "/libpod_parent/libpod-" ID1, CTR_PODMAN, ID1, "" },
	{ "/machine.slice/libpod-conmon-" ID2 ".scope", CTR_NONE, "", "" },
	/* The test's own shape. */
	{ "/tlstap-test.slice/docker-" ID2 ".scope", CTR_DOCKER, ID2, "" },
	/* Not containers. */
	{ "/", CTR_NONE, "", "" },
	{ "", CTR_NONE, "", "" },
	{ "/user.slice/user-1000.slice/session-2.scope", CTR_NONE, "", "" },
	{ "/system.slice/docker.service", CTR_NONE, "", "" },
	{ "/" ID1, CTR_NONE, "", "" },		/* a bare id, no runtime or pod above */
	/* Bad ids: short, long, upper case, not hex, wrong suffix. */
	{ "/system.slice/docker-" "3f4e1b2c" ".scope", CTR_NONE, "", "" },
	{ "/system.slice/docker-" ID1 "0.scope", CTR_NONE, "", "" },
	{ "/system.slice/docker-3F4E1B2C9D8A7F6E5D4C3B2A1908F7E6D5C4B3A29180F7E6D5C4B3A2918071A2.scope",
	  CTR_NONE, "", "" },
	{ "/system.slice/docker-g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
	  CTR_NONE, "", "" },
	{ "/system.slice/docker-" ID1 ".scopex", CTR_NONE, "", "" },
	{ "/docker/" ID1 "x", CTR_NONE, "", "" },
	{ "/docker/../" ID1, CTR_NONE, "", "" },
	/* Bad pod UIDs: wrong separator for the driver, short, not hex. */
	{ "/kubepods.slice/kubepods-pod" UID ".slice", CTR_NONE, "", "" },
	{ "/kubepods/pod" UID_, CTR_NONE, "", "" },
	{ "/kubepods/pod5d2b1f3c-8e7a-4b6d-9c0e-1f2a3b4c5d6", CTR_NONE, "", "" },
	{ "/kubepods/pod5d2b1f3c-8e7a-4b6d-9c0e-1f2a3b4c5dzz", CTR_NONE, "", "" },
	{ "/pod" UID, CTR_NONE, "", "" },	/* not under kubepods */
};

static void test_container_table(void **state)
{
	struct container_info ci;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool named = container_parse_path(rows[i].path, &ci);

		print_message("%s\n", rows[i].path);
		assert_int_equal(ci.runtime, rows[i].runtime);
		assert_string_equal(ci.id, rows[i].id);
		assert_string_equal(ci.pod_uid, rows[i].pod);
		assert_int_equal(named, rows[i].runtime != CTR_NONE || rows[i].pod[0]);
	}
}

static void test_container_path_too_long(void **state)
{
	static char path[CONTAINER_PATH_MAX + 200];
	struct container_info ci;
	size_t n;

	memset(path, 'a', sizeof(path));
	n = sizeof(path) - sizeof("/docker-" ID1 ".scope");
	memcpy(path + n, "/docker-" ID1 ".scope", sizeof("/docker-" ID1 ".scope"));
	assert_false(container_parse_path(path, &ci));
	assert_false(container_parse_path(NULL, &ci));
	assert_int_equal(ci.runtime, CTR_NONE);
}

static void test_container_runtime_names_round_trip(void **state)
{
	const char *name;
	int i;

	assert_null(container_runtime_name(CTR_NONE));
	assert_null(container_runtime_name(CTR_RUNTIMES));
	for (i = CTR_NONE + 1; i < CTR_RUNTIMES; i++) {
		name = container_runtime_name(i);
		assert_non_null(name);
		assert_int_equal(container_runtime_by_name(name, strlen(name)), i);
	}
	assert_int_equal(container_runtime_by_name("dock", 4), -1);
	assert_int_equal(container_runtime_by_name("dockerx", 7), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_table),
		cmocka_unit_test(test_container_path_too_long),
		cmocka_unit_test(test_container_runtime_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
