// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The lines saying why tracing cannot start. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"
#include "privs.h"

static char dir[] = "/tmp/tl-privs-XXXXXX";

static const char *file_with(const char *name, const void *data, size_t len)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
	return path;
}

/* libbpf says "No such process" for a bad vmlinux BTF: checked first. */
static void btf_check_lines(void)
{
	const uint16_t magic = 0xeB9F;
	char err[256], want[256];
	const char *p;

	p = file_with("empty", "", 0);
	CHECK_EQ_U64(tl_btf_check(p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "kernel BTF at %s is empty, not BTF: tracing needs the "
		 "running kernel's BTF (CONFIG_DEBUG_INFO_BTF=y)", p);
	CHECK_STR(err, want);
	unlink(p);
	p = file_with("junk", "\x7f" "ELF", 4);
	CHECK_EQ_U64(tl_btf_check(p, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, " is corrupt, not BTF: ") != NULL);
	unlink(p);
	p = file_with("ok", &magic, sizeof(magic));
	CHECK_EQ_U64(tl_btf_check(p, err, sizeof(err)), 0);
	unlink(p);
	CHECK_EQ_U64(tl_btf_check("/nonexistent/vmlinux", err, sizeof(err)), -ENOENT);
	CHECK_STR(err, "kernel BTF not found at /nonexistent/vmlinux: this kernel needs "
		  "CONFIG_DEBUG_INFO_BTF=y");
	CHECK_EQ_U64(tl_btf_check(dir, err, sizeof(err)), -EISDIR);
	CHECK(strstr(err, "cannot read kernel BTF at ") != NULL);
	if (!access("/sys/kernel/btf/vmlinux", R_OK))
		CHECK_EQ_U64(tl_btf_check("/sys/kernel/btf/vmlinux", err, sizeof(err)), 0);
}

static void kallsyms_lines(void)
{
	char err[512];

	/* CAP_BPF + CAP_PERFMON but no CAP_SYSLOG: that is what is missing. */
	tl_kallsyms_hidden(err, sizeof(err), 1, 2, false);
	CHECK_STR(err, "kernel symbol addresses are hidden in /proc/kallsyms: this process lacks "
		  "CAP_SYSLOG, which kernel.kptr_restrict=1 requires (run as root or add "
		  "CAP_SYSLOG)");
	tl_kallsyms_hidden(err, sizeof(err), 0, 2, false);
	CHECK_STR(err, "kernel symbol addresses are hidden in /proc/kallsyms: this process lacks "
		  "CAP_SYSLOG, which kernel.kptr_restrict=0 requires unless "
		  "kernel.perf_event_paranoid <= 1 (it is 2; run as root or add CAP_SYSLOG)");
	tl_kallsyms_hidden(err, sizeof(err), 0, TL_SYSCTL_UNKNOWN, false);
	CHECK(strstr(err, "(it is unknown; ") != NULL);
	tl_kallsyms_hidden(err, sizeof(err), 2, 2, true);
	CHECK_STR(err, "kernel symbol addresses are hidden in /proc/kallsyms from everyone "
		  "(kernel.kptr_restrict=2): set it to 1 (addresses shown to CAP_SYSLOG) or 0");
	/* Nothing the process could add would help. */
	tl_kallsyms_hidden(err, sizeof(err), 1, 2, true);
	CHECK(strstr(err, "CAP_SYSLOG is held: kernel lockdown?") != NULL);
	tl_kallsyms_hidden(err, sizeof(err), 0, 1, false);
	CHECK(strstr(err, "lacks") == NULL && strstr(err, "lockdown") != NULL);
}

static void load_lines(void)
{
	char err[256];

	tl_load_failed(err, sizeof(err), -ESRCH);
	CHECK(strstr(err, "No such process") == NULL);
	CHECK(strstr(err, "missing from this kernel's BTF") != NULL);
	tl_load_failed(err, sizeof(err), -EPERM);
	CHECK_STR(err, "cannot load the BPF programs into the kernel: Operation not permitted "
		  "(verbose mode shows libbpf's log)");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(btf_check_lines);
	RUN(kallsyms_lines);
	RUN(load_lines);
	rmdir(dir);
	return UNIT_END();
}
