/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Line numbers from a CPython 3.11+ code object's location table
 * (co_linetable; CPython's Objects/locations.md): the table is read out of
 * another process and may be anything, so decoding never reads past its
 * end and gives up on a malformed entry.
 */
#ifndef TCPLINGER_PYLINETABLE_H
#define TCPLINGER_PYLINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* The source line of the instruction at code unit unit (counted from the
 * start of the bytecode) of a code object whose first line is firstlineno
 * and whose table is tab[0..len): firstlineno for a negative unit (a frame
 * not started yet), 0 when the table says the instruction has no line or
 * does not cover it, or is malformed. */
int tl_py_line(const uint8_t *tab, size_t len, int firstlineno, int64_t unit);

#endif /* TCPLINGER_PYLINETABLE_H */
