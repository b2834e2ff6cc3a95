/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPLINGER_UNITS_H
#define TCPLINGER_UNITS_H

#include <stdint.h>

#define NS_PER_US	UINT64_C(1000)
#define NS_PER_MS	UINT64_C(1000000)
#define NS_PER_SEC	UINT64_C(1000000000)

#endif /* TCPLINGER_UNITS_H */
