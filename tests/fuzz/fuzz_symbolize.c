// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the symbolizer's reading of one binary
 * (user/symelf.c): the input is the ELF file a traced process maps.  It
 * is parsed, handed to libdw, and looked up at the start, middle and end
 * of each PT_LOAD and at addresses the input's last bytes give.
 * Seeds (tests/fuzz/corpus-symbolize): a tiny shared object built with
 * "gcc -shared -fPIC -Os -g", and the same stripped.
 */
#include <libelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "symelf.h"

static void lookup(struct tl_symbin *b, uint64_t vaddr)
{
	free(tl_symbin_frame(b, vaddr, 0, "fuzz.so"));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return elf_version(EV_CURRENT) == EV_NONE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tl_symbin b = { 0 };
	struct stat st;
	uint64_t extra = 0;
	int fd = memfd_create("fuzz.so", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	if (fstat(fd, &st))
		abort();
	if (!tl_symbin_read(&b, fd)) {
		free(b.segs);
		close(fd);
		return 0;
	}
	/* No process root: debuglink names are checked, never opened. */
	tl_symbin_load(&b, fd, &st, "fuzz.so", "/fuzz/fuzz.so", -1, TL_SYM_BUDGET_NS);
	for (size_t i = 0; i < b.nsegs; i++) {
		const struct tl_symseg *sg = &b.segs[i];

		lookup(&b, tl_symbin_vaddr(&b, sg->off));
		lookup(&b, tl_symbin_vaddr(&b, sg->off + sg->filesz / 2));
		lookup(&b, tl_symbin_vaddr(&b, sg->off + (sg->filesz ? sg->filesz - 1 : 0)));
	}
	if (len >= sizeof(extra)) {
		memcpy(&extra, data + len - sizeof(extra), sizeof(extra));
		lookup(&b, extra);
		lookup(&b, tl_symbin_vaddr(&b, extra % (uint64_t)len));
	}
	tl_symbin_drop(&b);
	return 0;
}
