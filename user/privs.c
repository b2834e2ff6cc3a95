// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Why tracing cannot start, in words; see privs.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "privs.h"

#define BTF_MAGIC 0xeB9F	/* struct btf_header's magic, host byte order */

int tl_btf_check(const char *path, char *err, size_t errlen)
{
	uint16_t magic = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			snprintf(err, errlen, "kernel BTF not found at %s: this kernel needs "
				 "CONFIG_DEBUG_INFO_BTF=y", path);
		else
			snprintf(err, errlen, "cannot read kernel BTF at %s: %s", path,
				 strerror(-ret));
		return ret;
	}
	n = read(fd, &magic, sizeof(magic));
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		snprintf(err, errlen, "cannot read kernel BTF at %s: %s", path, strerror(-ret));
		return ret;
	}
	/* libbpf would only say "No such process" (ESRCH) for this. */
	if (n != sizeof(magic) || magic != BTF_MAGIC) {
		snprintf(err, errlen, "kernel BTF at %s is %s, not BTF: tracing needs the running "
			 "kernel's BTF (CONFIG_DEBUG_INFO_BTF=y)", path,
			 n == 0 ? "empty" : "corrupt");
		return -EINVAL;
	}
	return 0;
}

/*
 * /proc/kallsyms shows addresses (kallsyms_show_value()) with
 * kptr_restrict 0 if perf_event_paranoid <= 1, with kptr_restrict 0 or 1
 * to a reader with CAP_SYSLOG, and with kptr_restrict 2 to no one.
 */
void tl_kallsyms_hidden(char *err, size_t errlen, int kptr_restrict, int perf_paranoid,
			bool cap_syslog)
{
	const char *what = "kernel symbol addresses are hidden in /proc/kallsyms";
	char par[32] = "unknown";

	if (perf_paranoid != TL_SYSCTL_UNKNOWN)
		snprintf(par, sizeof(par), "%d", perf_paranoid);
	if (kptr_restrict >= 2)
		snprintf(err, errlen, "%s from everyone (kernel.kptr_restrict=%d): set it to 1 "
			 "(addresses shown to CAP_SYSLOG) or 0", what, kptr_restrict);
	else if (!cap_syslog && kptr_restrict == 1)
		snprintf(err, errlen, "%s: this process lacks CAP_SYSLOG, which "
			 "kernel.kptr_restrict=1 requires (run as root or add CAP_SYSLOG)", what);
	else if (!cap_syslog && (perf_paranoid > 1 || perf_paranoid == TL_SYSCTL_UNKNOWN))
		snprintf(err, errlen, "%s: this process lacks CAP_SYSLOG, which "
			 "kernel.kptr_restrict=0 requires unless kernel.perf_event_paranoid <= 1 "
			 "(it is %s; run as root or add CAP_SYSLOG)", what, par);
	else
		snprintf(err, errlen, "%s although kernel.kptr_restrict=%d and CAP_SYSLOG is %s: "
			 "kernel lockdown?", what, kptr_restrict, cap_syslog ? "held" : "not needed");
}

void tl_load_failed(char *buf, size_t len, int err)
{
	/* libbpf's ESRCH: a kernel symbol or type the programs name is not
	 * there (BTF itself was checked before). */
	if (err == -ESRCH)
		snprintf(buf, len, "cannot load the BPF programs: a kernel function, variable or "
			 "type they need is missing from this kernel's BTF (-v shows which)");
	else
		snprintf(buf, len, "cannot load the BPF programs into the kernel: %s (verbose "
			 "mode shows libbpf's log)", strerror(-err));
}
