/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where CPython keeps what a stack walk reads: byte offsets into its
 * runtime, interpreter, thread, frame, code and string structures.  They
 * change with every minor version: 3.11 and 3.12 are tables here (64-bit
 * builds; taken from offsetof() against each version's internal headers),
 * 3.13 publishes its own in _Py_DebugOffsets at the start of _PyRuntime,
 * which is read from the process and checked.
 */
#ifndef TCPLINGER_PYLAYOUT_H
#define TCPLINGER_PYLAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_PY_VERSION(maj, min)	(((uint32_t)(maj) << 24) | ((uint32_t)(min) << 16))
#define TL_PY_MINOR_OF(hex)	((hex) & 0xffff0000u)

/* What _Py_DebugOffsets takes at most; a walk reads this much of
 * _PyRuntime's start to find it. */
#define TL_PY_DEBUG_OFFSETS_MAX	1024

struct tl_pylayout {
	uint32_t version;		/* PY_VERSION_HEX */
	/* _PyRuntimeState */
	uint64_t runtime_interp_head;
	/* PyInterpreterState */
	uint64_t interp_next, interp_threads_head;
	/* PyThreadState */
	uint64_t tstate_next, tstate_native_tid;
	uint64_t tstate_frame;		/* the current frame, or the _PyCFrame holding it */
	bool via_cframe;		/* 3.11, 3.12: tstate->cframe->current_frame */
	uint64_t cframe_current_frame;
	/* _PyInterpreterFrame */
	uint64_t frame_previous, frame_code, frame_instr, frame_owner;
	/* PyCodeObject */
	uint64_t code_filename, code_qualname, code_linetable, code_firstlineno, code_bytecode;
	/* PyObject, PyBytesObject, PyASCIIObject/PyCompactUnicodeObject */
	uint64_t ob_type, bytes_size, bytes_data;
	uint64_t unicode_length, unicode_state, unicode_ascii_data, unicode_compact_data;
};

/* Frames a frame's owner byte marks as C-stack sentinels (3.12+), which
 * hold no Python code. */
#define TL_PY_FRAME_OWNED_BY_CSTACK	3

/* The layout of CPython version (PY_VERSION_HEX, e.g. from Py_Version):
 * 0, or -EPROTONOSUPPORT for a version without a built-in table. */
int tl_pylayout_builtin(uint32_t version, struct tl_pylayout *l);
/* The layout a CPython 3.13 _Py_DebugOffsets published (buf[0..len), the
 * start of _PyRuntime): 0, -ENOENT when buf does not start with one,
 * -EPROTONOSUPPORT for another version of it or a free-threaded build,
 * -EINVAL when an offset lies outside the size given for its structure. */
int tl_pylayout_from_debug(const uint8_t *buf, size_t len, uint32_t version, struct tl_pylayout *l);
/* The number of bytes a walk reads at once from each kind of structure so
 * that every offset of l falls inside. */
size_t tl_pylayout_tstate_span(const struct tl_pylayout *l);
size_t tl_pylayout_frame_span(const struct tl_pylayout *l);
size_t tl_pylayout_code_span(const struct tl_pylayout *l);

#endif /* TCPLINGER_PYLAYOUT_H */
