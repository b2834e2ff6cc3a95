// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include "pylayout.h"

/* Offsets per minor version, a field a row, the versions side by side
 * (taken with offsetof() against each version's headers). */
#define LAYOUTS(X)						\
	/*  field                  3.11   3.12 */		\
	X(runtime_interp_head,      40,    40)		\
	X(interp_next,               0,     0)		\
	X(interp_threads_head,      16,    72)		\
	X(tstate_next,               8,     8)		\
	X(tstate_native_tid,       160,   144)		\
	X(tstate_frame,             56,    56)		\
	X(via_cframe,             true,  true)		\
	X(cframe_current_frame,      8,     0)		\
	X(frame_previous,           48,     8)		\
	X(frame_code,               32,     0)		\
	X(frame_instr,              56,    56)		\
	X(frame_owner,              69,    70)		\
	X(code_filename,           112,   112)		\
	X(code_qualname,           128,   128)		\
	X(code_linetable,          136,   136)		\
	X(code_firstlineno,         72,    68)		\
	X(code_bytecode,           184,   192)		\
	X(ob_type,                   8,     8)		\
	X(bytes_size,               16,    16)		\
	X(bytes_data,               32,    32)		\
	X(unicode_length,           16,    16)		\
	X(unicode_state,            32,    32)		\
	X(unicode_ascii_data,       48,    40)		\
	X(unicode_compact_data,     72,    56)

#define AT_3_11(field, v311, v312) .field = v311,
#define AT_3_12(field, v311, v312) .field = v312,
static const struct tl_pylayout builtin[] = {
	{ .version = TL_PY_VERSION(3, 11), LAYOUTS(AT_3_11) },
	{ .version = TL_PY_VERSION(3, 12), LAYOUTS(AT_3_12) },
};
#undef AT_3_11
#undef AT_3_12

int tl_pylayout_builtin(uint32_t version, struct tl_pylayout *l)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (builtin[i].version == TL_PY_MINOR_OF(version)) {
			*l = builtin[i];
			l->version = version;
			return 0;
		}
	}
	return -EPROTONOSUPPORT;
}

/*
 * CPython 3.13's _Py_DebugOffsets: a cookie, then uint64_t fields, each
 * structure's group opening with its size.  Byte offsets of the fields
 * read here (offsetof() against 3.13's pycore_runtime.h).
 */
#define DBG_COOKIE		"xdebugpy"
#define DBG_VERSION		8
#define DBG_FREE_THREADED	16
#define DBG_RUNTIME_SIZE	24
#define DBG_RUNTIME_INTERP_HEAD	40
#define DBG_INTERP_SIZE		48
#define DBG_INTERP_NEXT		64
#define DBG_INTERP_THREADS_HEAD	72
#define DBG_TSTATE_SIZE		152
#define DBG_TSTATE_NEXT		168
#define DBG_TSTATE_FRAME	184
#define DBG_TSTATE_NATIVE_TID	200
#define DBG_FRAME_SIZE		224
#define DBG_FRAME_PREVIOUS	232
#define DBG_FRAME_EXECUTABLE	240
#define DBG_FRAME_INSTR		248
#define DBG_FRAME_OWNER		264
#define DBG_CODE_SIZE		272
#define DBG_CODE_FILENAME	280
#define DBG_CODE_QUALNAME	296
#define DBG_CODE_LINETABLE	304
#define DBG_CODE_FIRSTLINENO	312
#define DBG_CODE_BYTECODE	344
#define DBG_OBJECT_SIZE		352
#define DBG_OBJECT_TYPE		360
#define DBG_BYTES_SIZE		512
#define DBG_BYTES_OB_SIZE	520
#define DBG_BYTES_DATA		528
#define DBG_UNICODE_SIZE	536
#define DBG_UNICODE_STATE	544
#define DBG_UNICODE_LENGTH	552
#define DBG_UNICODE_ASCII_SIZE	560
#define DBG_END			584

/* Past this a structure's size is not believed. */
#define DBG_MAX_STRUCT		(1u << 20)

static uint64_t u64_at(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* Reads the field at field_off into *out; false when it does not fit (with
 * its width) in the structure whose size is at size_off. */
static bool field(const uint8_t *buf, size_t size_off, size_t field_off, uint64_t width,
		  uint64_t *out)
{
	uint64_t size = u64_at(buf, size_off), v = u64_at(buf, field_off);

	if (size > DBG_MAX_STRUCT || v > size || size - v < width)
		return false;
	*out = v;
	return true;
}

int tl_pylayout_from_debug(const uint8_t *buf, size_t len, uint32_t version, struct tl_pylayout *l)
{
	const uint64_t ptr = sizeof(uint64_t);
	uint64_t ascii_size;
	bool ok = true;

	if (len < DBG_END || memcmp(buf, DBG_COOKIE, strlen(DBG_COOKIE)))
		return -ENOENT;
	if (TL_PY_MINOR_OF(u64_at(buf, DBG_VERSION)) != TL_PY_VERSION(3, 13) ||
	    TL_PY_MINOR_OF(version) != TL_PY_VERSION(3, 13) || u64_at(buf, DBG_FREE_THREADED))
		return -EPROTONOSUPPORT;
	memset(l, 0, sizeof(*l));
	l->version = version;
	ok &= field(buf, DBG_RUNTIME_SIZE, DBG_RUNTIME_INTERP_HEAD, ptr, &l->runtime_interp_head);
	ok &= field(buf, DBG_INTERP_SIZE, DBG_INTERP_NEXT, ptr, &l->interp_next);
	ok &= field(buf, DBG_INTERP_SIZE, DBG_INTERP_THREADS_HEAD, ptr, &l->interp_threads_head);
	ok &= field(buf, DBG_TSTATE_SIZE, DBG_TSTATE_NEXT, ptr, &l->tstate_next);
	ok &= field(buf, DBG_TSTATE_SIZE, DBG_TSTATE_FRAME, ptr, &l->tstate_frame);
	ok &= field(buf, DBG_TSTATE_SIZE, DBG_TSTATE_NATIVE_TID, ptr, &l->tstate_native_tid);
	ok &= field(buf, DBG_FRAME_SIZE, DBG_FRAME_PREVIOUS, ptr, &l->frame_previous);
	ok &= field(buf, DBG_FRAME_SIZE, DBG_FRAME_EXECUTABLE, ptr, &l->frame_code);
	ok &= field(buf, DBG_FRAME_SIZE, DBG_FRAME_INSTR, ptr, &l->frame_instr);
	ok &= field(buf, DBG_FRAME_SIZE, DBG_FRAME_OWNER, 1, &l->frame_owner);
	ok &= field(buf, DBG_CODE_SIZE, DBG_CODE_FILENAME, ptr, &l->code_filename);
	ok &= field(buf, DBG_CODE_SIZE, DBG_CODE_QUALNAME, ptr, &l->code_qualname);
	ok &= field(buf, DBG_CODE_SIZE, DBG_CODE_LINETABLE, ptr, &l->code_linetable);
	ok &= field(buf, DBG_CODE_SIZE, DBG_CODE_FIRSTLINENO, sizeof(int), &l->code_firstlineno);
	ok &= field(buf, DBG_CODE_SIZE, DBG_CODE_BYTECODE, 0, &l->code_bytecode);
	ok &= field(buf, DBG_OBJECT_SIZE, DBG_OBJECT_TYPE, ptr, &l->ob_type);
	ok &= field(buf, DBG_BYTES_SIZE, DBG_BYTES_OB_SIZE, ptr, &l->bytes_size);
	ok &= field(buf, DBG_BYTES_SIZE, DBG_BYTES_DATA, 0, &l->bytes_data);
	ok &= field(buf, DBG_UNICODE_SIZE, DBG_UNICODE_STATE, sizeof(uint32_t), &l->unicode_state);
	ok &= field(buf, DBG_UNICODE_SIZE, DBG_UNICODE_LENGTH, ptr, &l->unicode_length);
	ascii_size = u64_at(buf, DBG_UNICODE_ASCII_SIZE);
	if (!ok || ascii_size > DBG_MAX_STRUCT)
		return -EINVAL;
	/* Compact strings keep their characters right after the header:
	 * PyASCIIObject's, or PyCompactUnicodeObject's, which adds utf8_length
	 * and utf8. */
	l->unicode_ascii_data = ascii_size;
	l->unicode_compact_data = ascii_size + 2 * ptr;
	return 0;
}

static size_t max_end(const uint64_t *offs, size_t n, size_t width)
{
	uint64_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (offs[i] > m)
			m = offs[i];
	return (size_t)m + width;
}

size_t tl_pylayout_tstate_span(const struct tl_pylayout *l)
{
	const uint64_t offs[] = { l->tstate_next, l->tstate_native_tid, l->tstate_frame };

	return max_end(offs, sizeof(offs) / sizeof(offs[0]), sizeof(uint64_t));
}

size_t tl_pylayout_frame_span(const struct tl_pylayout *l)
{
	const uint64_t offs[] = { l->frame_previous, l->frame_code, l->frame_instr, l->frame_owner };

	return max_end(offs, sizeof(offs) / sizeof(offs[0]), sizeof(uint64_t));
}

size_t tl_pylayout_code_span(const struct tl_pylayout *l)
{
	const uint64_t offs[] = {
		l->ob_type, l->code_filename, l->code_qualname, l->code_linetable, l->code_firstlineno,
	};

	return max_end(offs, sizeof(offs) / sizeof(offs[0]), sizeof(uint64_t));
}
