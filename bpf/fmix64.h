/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* murmur3's fmix64 finalizer, for the BPF program and user space alike. */
#ifndef TCPLINGER_FMIX64_H
#define TCPLINGER_FMIX64_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* A bijection of 64-bit numbers that spreads every input bit over the
 * whole output. */
static inline __attribute__((always_inline)) __u64 tl_fmix64(__u64 k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

#endif /* TCPLINGER_FMIX64_H */
