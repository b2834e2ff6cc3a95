// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Cgroup paths: container ids as runtimes write them, what --cgroup takes
 * in, and the names' log blobs. */
#include <stdint.h>
#include "cgnames.h"
#include "unit.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const char *cid(const char *path)
{
	static char out[TL_CONTAINER_ID_LEN + 1];

	return tl_container_id(path, out) ? out : "";
}

static void test_container_runtimes(void)
{
	CHECK_STR(cid("/system.slice/docker-" ID ".scope"), ID);
	CHECK_STR(cid("/docker/" ID), ID);
	CHECK_STR(cid("/system.slice/containerd.service/kubepods-burstable-pod1.slice:"
		      "cri-containerd:" ID), ID);
	CHECK_STR(cid("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice/"
		      "cri-containerd-" ID ".scope"), ID);
	CHECK_STR(cid("/kubepods.slice/kubepods-pod9.slice/crio-" ID ".scope"), ID);
	CHECK_STR(cid("/machine.slice/libpod-" ID ".scope"), ID);
	CHECK_STR(cid("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID
		      ".scope/container"), ID);
	CHECK_STR(cid("/kubepods/besteffort/pod0f1e/" ID), ID);
	/* nested: the innermost one */
	CHECK_STR(cid("/docker/" ID2 "/docker/" ID), ID);
}

static void test_container_none(void)
{
	CHECK_STR(cid("/"), "");
	CHECK_STR(cid("/system.slice/nginx.service"), "");
	CHECK_STR(cid("/user.slice/user-0.slice/session-3.scope"), "");
	/* runtime monitors are not containers */
	CHECK_STR(cid("/machine.slice/libpod-conmon-" ID ".scope"), "");
	CHECK_STR(cid("/kubepods.slice/crio-conmon-" ID ".scope"), "");
	/* not 64 lower-case hex digits */
	CHECK_STR(cid("/docker/" "0123456789abcdef"), "");
	CHECK_STR(cid("/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"), "");
	CHECK_STR(cid("/system.slice/docker-" ID ".service"), "");
	CHECK_STR(cid("/system.slice/-" ID "x.scope"), "");
}

static void test_path_under(void)
{
	CHECK(tl_cgroup_path_under("/system.slice/x.service", "/system.slice"));
	CHECK(tl_cgroup_path_under("/system.slice", "/system.slice"));
	CHECK(tl_cgroup_path_under("/system.slice", "/system.slice/"));
	CHECK(tl_cgroup_path_under("/system.slice/x", "/"));
	CHECK(!tl_cgroup_path_under("/system.slice2/x", "/system.slice"));
	CHECK(!tl_cgroup_path_under("/system", "/system.slice"));
}

static void test_names(void)
{
	struct tl_cgnames t = { 0 };
	const struct tl_cgname *n;
	uint8_t blob[256];
	const char *path;
	uint64_t id;
	size_t len, plen;

	CHECK(tl_cgnames_set(&t, 42, "/docker/" ID, 8 + 64));
	CHECK(!tl_cgnames_set(&t, 43, "relative", 8));
	CHECK(!tl_cgnames_set(&t, 44, "/a\nb", 4));
	CHECK(!tl_cgnames_set(&t, 0, "/a", 2));
	n = tl_cgnames_get(&t, 42);
	CHECK(n && !strcmp(n->path, "/docker/" ID) && !strcmp(n->container, ID));
	CHECK(!tl_cgnames_get(&t, 43));
	CHECK(tl_cgnames_set(&t, 42, "/b", 2));	/* a second name replaces the first */
	n = tl_cgnames_get(&t, 42);
	CHECK(n && !strcmp(n->path, "/b") && !n->container[0]);

	len = tl_cgname_blob(blob, sizeof(blob), 0x0102030405060708ULL, "/system.slice");
	CHECK_EQ_U64(len, 8 + 13);
	CHECK(tl_cgname_unblob(blob, len, &id, &path, &plen));
	CHECK_EQ_U64(id, 0x0102030405060708ULL);
	CHECK(plen == 13 && !memcmp(path, "/system.slice", 13));
	CHECK(!tl_cgname_unblob(blob, 8, &id, &path, &plen));
	CHECK_EQ_U64(tl_cgname_blob(blob, 10, 1, "/system.slice"), 0);
	tl_cgnames_free(&t);
}

int main(void)
{
	RUN(test_container_runtimes);
	RUN(test_container_none);
	RUN(test_path_under);
	RUN(test_names);
	return UNIT_END();
}
