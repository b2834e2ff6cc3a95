/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A running CPython process seen from outside: where its interpreter's
 * _PyRuntime and the type objects a walk checks against live (symbols of
 * the python binary or libpython it maps), which version it runs
 * (Py_Version, 3.11+), and reads of its memory.  Mapped files are opened
 * through /proc/PID/map_files, else by their path inside the process's
 * root, so a process in a container is read from its own files.
 */
#ifndef TCPLINGER_PYPROC_H
#define TCPLINGER_PYPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tl_pyproc {
	pid_t pid;
	int memfd;		/* /proc/PID/mem once process_vm_readv was refused, else -1 */
	uint64_t runtime;	/* &_PyRuntime */
	uint32_t version;	/* Py_Version (PY_VERSION_HEX); 0: none (before 3.11) */
	/* Type objects, 0 when the binary does not name them (no check then). */
	uint64_t code_type, unicode_type, bytes_type;
};

/* Finds the interpreter of pid: 0; -ESRCH (no such process), -EACCES or
 * -EPERM (not ours to read), -ENOEXEC (nothing it maps defines
 * _PyRuntime: not CPython, or a build that hides its symbols), -EFAULT
 * (its Py_Version unreadable), -ENOMEM.
 * A found runtime with version 0 is a CPython before 3.11. */
int tl_pyproc_open(pid_t pid, struct tl_pyproc *p);
void tl_pyproc_close(struct tl_pyproc *p);
/* Copies len bytes at addr of the process into buf: 0, -EFAULT when they
 * are not all mapped, -ESRCH when the process is gone, -EPERM when its
 * memory is not ours to read. */
int tl_pyproc_read(struct tl_pyproc *p, uint64_t addr, void *buf, size_t len);
/* The pointer (or other 8-byte word) at addr; 0 when unreadable. */
uint64_t tl_pyproc_word(struct tl_pyproc *p, uint64_t addr);

#endif /* TCPLINGER_PYPROC_H */
