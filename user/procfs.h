/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Process facts from /proc: which processes hold given sockets, their
 * command lines and their stat lines.  A process that is gone reads as
 * -ESRCH.
 */
#ifndef TCPLINGER_PROCFS_H
#define TCPLINGER_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tl_holder {
	uint64_t ino;		/* socket inode, as in "socket:[ino]" */
	int32_t pid;		/* tgid holding it */
	int32_t fd;
	char comm[16];		/* /proc/PID/comm, NUL-terminated */
};

/* Scans /proc/[0-9]* /fd for fds whose link is "socket:[ino]" with ino in
 * inos[0..n) (any order, duplicates allowed).  *out is a malloc'd array
 * (caller frees; NULL when *nout is 0), sorted by (ino, pid, fd).  Each
 * process (tgid) is reported once, not each thread.  Processes that vanish
 * mid-scan or whose fds we may not read are skipped silently.  Returns 0
 * or a negative errno. */
int tl_procfs_holders(const uint64_t *inos, size_t n, struct tl_holder **out, size_t *nout);
/* Up to len-1 bytes of /proc/PID/NAME (NAME may be "task/TID/stat")
 * into buf, NUL-terminated: the length, or -errno. */
ssize_t tl_procfs_read(int pid, const char *name, char *buf, size_t len);
/* The command line of pid with NUL separators turned into spaces,
 * truncated to len-1 bytes and NUL-terminated ("" for kernel threads);
 * returns 0 or -errno. */
int tl_procfs_cmdline(int pid, char *buf, size_t len);
/* /proc/PID/stat into buf (len-1 bytes at most); *fields points at its
 * third field, the state, past a comm that may hold spaces and ')'.
 * Returns 0 or -errno (-EIO when it does not parse). */
int tl_procfs_stat(int pid, char *buf, size_t len, char **fields);

#endif /* TCPLINGER_PROCFS_H */
