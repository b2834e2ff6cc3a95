/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the tracer needs from the kernel and the system, and one clear
 * line when something is missing. */
#ifndef TCPLINGER_PRIVS_H
#define TCPLINGER_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* 0 if path holds BTF (it starts with the BTF magic), else a negative
 * errno and one line in err. */
int tl_btf_check(const char *path, char *err, size_t errlen);

#define TL_SYSCTL_UNKNOWN (-2147483647 - 1)

/* The line for /proc/kallsyms hiding symbol addresses from this process,
 * given kernel.kptr_restrict, kernel.perf_event_paranoid (may be
 * TL_SYSCTL_UNKNOWN) and whether the process has CAP_SYSLOG. */
void tl_kallsyms_hidden(char *err, size_t errlen, int kptr_restrict, int perf_paranoid,
			bool cap_syslog);

/* The line for libbpf failing to load the programs with err (negative). */
void tl_load_failed(char *buf, size_t len, int err);

#endif /* TCPLINGER_PRIVS_H */
