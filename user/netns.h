/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Visiting network namespaces: BPF socket iterators only see the netns of
 * the process that creates them. */
#ifndef TCPLINGER_NETNS_H
#define TCPLINGER_NETNS_H

#include <stdint.h>

/* Runs fn once inside every distinct network namespace found under
 * /run/netns and /proc/[pid]/ns/net (only the one with inode want, if
 * want != 0), entering it with setns() and coming back.  fn returns a
 * count or a negative errno that stops the walk.  Returns the sum of the
 * counts or the first error; *skipped counts namespaces that could not be
 * entered (gone, or no CAP_SYS_ADMIN). */
int tl_netns_foreach(uint32_t want, int (*fn)(void *ctx), void *ctx, int *skipped);

/* Whether a network namespace with inode ino is there, as the same walk
 * finds them: 1 yes; 0 no; -EACCES not found, but some processes'
 * namespaces could not be looked at. */
int tl_netns_exists(uint32_t ino);

#endif /* TCPLINGER_NETNS_H */
