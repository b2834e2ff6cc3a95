/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The threads of a running process as /proc shows them, without stopping
 * them: their state, the syscall each is blocked in with its user sp and
 * pc (/proc/PID/task/TID/syscall: the registers the kernel saved at the
 * syscall's entry), and the stack above that sp (/proc/PID/mem).  Needs
 * the access ptrace would (CAP_SYS_PTRACE for other users' processes).
 */
#ifndef TCPLINGER_PROCTASK_H
#define TCPLINGER_PROCTASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TL_TASKS_MAX	65536	/* threads of a process listed at most */

struct tl_task_now {
	int32_t tid;
	char state;		/* /proc's letter (R S D T t Z I ...) */
	char comm[16];
	int32_t syscall;	/* the syscall it is blocked in; -1 none (running, or
				 * stopped outside one) */
	bool regs_known;	/* sp and pc below hold */
	uint64_t sp, pc;
};

/* The thread ids of pid, ascending, into a malloc'd *tids (caller frees):
 * 0 or -errno (-ESRCH: gone). */
int tl_task_list(int pid, int32_t **tids, size_t *n);
/* What thread tid of pid is doing now: 0 or -errno. */
int tl_task_now(int pid, int32_t tid, struct tl_task_now *t);
/* Up to len bytes of pid's memory from sp up into buf, stopping at the
 * first chunk that cannot be read (the stack's end): how many. */
size_t tl_task_stack(int pid, uint64_t sp, uint8_t *buf, size_t len);
/* The name of x86-64 syscall nr ("accept4"), or "syscall_N" in buf. */
const char *tl_syscall_name(int32_t nr, char *buf, size_t len);

#endif /* TCPLINGER_PROCTASK_H */
