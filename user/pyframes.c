// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyframes.h"
#include "pylayout.h"
#include "pylinetable.h"
#include "pyproc.h"

#define CODE_UNIT		2	/* bytes of a _Py_CODEUNIT */
#define UTF8_MAX		4
#define SPAN_MAX		512	/* bytes read of a thread state, frame or code object */
/* PyASCIIObject.state bits (interned:2, kind:3, compact:1, ascii:1). */
#define STATE_KIND(s)		(((s) >> 2) & 7)
#define STATE_COMPACT		(1u << 5)
#define STATE_ASCII		(1u << 6)

struct walk {
	struct tl_pyproc *p;
	const struct tl_pylayout *l;
	struct tl_py_thread *threads;
	uint64_t *tstates;	/* the address of each thread read, against loops */
	size_t n;
};

static uint64_t word_at(const uint8_t *buf, uint64_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* Whether an object whose ob_type is obj_type has type type (no check
 * when the binary did not name type: 0). */
static bool has_type(uint64_t obj_type, uint64_t type)
{
	return !type || obj_type == type;
}

/* Appends code point cp to out as UTF-8; what a terminal would act on
 * (controls) or no character is (surrogates, past U+10FFFF) becomes '?'. */
static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
	    (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff) {
		out[0] = '?';
		return 1;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The str object at addr as UTF-8 into out (TL_PY_MAX_NAME characters at
 * most, then "..."); "?" when it is not a compact str (co_filename and
 * co_qualname always are) or unreadable.
 */
static void read_str(struct walk *w, uint64_t addr, char *out)
{
	const struct tl_pylayout *l = w->l;
	uint8_t head[SPAN_MAX], data[TL_PY_MAX_NAME * 4];
	uint64_t length, data_off;
	uint32_t state, width;
	size_t n, o = 0;

	strcpy(out, "?");
	if (l->unicode_ascii_data > sizeof(head) || l->unicode_state + 4 > l->unicode_ascii_data ||
	    l->unicode_length + 8 > l->unicode_ascii_data || l->ob_type + 8 > l->unicode_ascii_data ||
	    tl_pyproc_read(w->p, addr, head, l->unicode_ascii_data))
		return;
	memcpy(&state, head + l->unicode_state, sizeof(state));
	length = word_at(head, l->unicode_length);
	if (!has_type(word_at(head, l->ob_type), w->p->unicode_type) || !(state & STATE_COMPACT))
		return;
	width = state & STATE_ASCII ? 1 : STATE_KIND(state);
	data_off = state & STATE_ASCII ? l->unicode_ascii_data : l->unicode_compact_data;
	if (width != 1 && width != 2 && width != 4)
		return;
	n = length > TL_PY_MAX_NAME ? TL_PY_MAX_NAME : (size_t)length;
	if (tl_pyproc_read(w->p, addr + data_off, data, n * width))
		return;
	for (size_t i = 0; i < n; i++) {
		uint32_t cp;

		if (width == 1) {
			cp = data[i];
		} else if (width == 2) {
			uint16_t c16;

			memcpy(&c16, data + 2 * i, 2);
			cp = c16;
		} else {
			memcpy(&cp, data + 4 * i, 4);
		}
		o += put_utf8(out + o, cp);
	}
	strcpy(out + o, length > n ? "..." : "");
	if (!o && length <= n)
		strcpy(out, "?");
}

/* The line the frame is at: instr (its instruction pointer) into the code
 * object at code (head: its first bytes), by the location table. */
static int frame_line(struct walk *w, uint64_t code, const uint8_t *head, uint64_t instr)
{
	const struct tl_pylayout *l = w->l;
	uint64_t table = word_at(head, l->code_linetable), size;
	uint8_t bhead[SPAN_MAX], *tab;
	int32_t firstlineno;
	int64_t unit;
	int line = 0;

	memcpy(&firstlineno, head + l->code_firstlineno, sizeof(firstlineno));
	if (l->bytes_data > sizeof(bhead) || l->bytes_size + 8 > l->bytes_data ||
	    l->ob_type + 8 > l->bytes_data || tl_pyproc_read(w->p, table, bhead, l->bytes_data))
		return 0;
	size = word_at(bhead, l->bytes_size);
	if (!has_type(word_at(bhead, l->ob_type), w->p->bytes_type) || size > TL_PY_MAX_LINETABLE)
		return 0;
	tab = malloc(size ? size : 1);
	if (!tab)
		return 0;
	/* Code units from the start of the bytecode; negative: not started. */
	unit = (int64_t)(instr - (code + l->code_bytecode)) / CODE_UNIT;
	if (!tl_pyproc_read(w->p, table + l->bytes_data, tab, size))
		line = tl_py_line(tab, size, firstlineno, unit);
	free(tab);
	return line;
}

/* The frame string of the code object at code, or NULL when it is not a
 * code object (nor readable). */
static char *frame_str(struct walk *w, uint64_t code, uint64_t instr)
{
	const struct tl_pylayout *l = w->l;
	char func[TL_PY_MAX_NAME * UTF8_MAX + 4], file[TL_PY_MAX_NAME * UTF8_MAX + 4];
	size_t span = tl_pylayout_code_span(l);
	uint8_t head[SPAN_MAX];
	char *s = NULL;
	int line;

	if (span > sizeof(head) || tl_pyproc_read(w->p, code, head, span) ||
	    !has_type(word_at(head, l->ob_type), w->p->code_type))
		return NULL;
	read_str(w, word_at(head, l->code_qualname), func);
	read_str(w, word_at(head, l->code_filename), file);
	line = frame_line(w, code, head, instr);
	if ((line > 0 ? asprintf(&s, "%s (%s:%d)", func, file, line)
		      : asprintf(&s, "%s (%s)", func, file)) < 0)
		return NULL;
	return s;
}

static bool seen_before(const uint64_t *seen, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (seen[i] == addr)
			return true;
	return false;
}

/* Walks one thread's frame chain from frame into t: 0 or -ENOMEM.  A
 * chain that loops (read torn) or breaks off ends the walk, truncated. */
static int walk_frames(struct walk *w, uint64_t frame, struct tl_py_thread *t)
{
	const struct tl_pylayout *l = w->l;
	size_t span = tl_pylayout_frame_span(l);
	uint64_t seen[TL_PY_MAX_FRAMES];
	uint8_t head[SPAN_MAX];

	if (span > sizeof(head))
		return 0;
	t->frames = calloc(TL_PY_MAX_FRAMES, sizeof(*t->frames));
	if (!t->frames)
		return -ENOMEM;
	for (size_t steps = 0; frame; steps++) {
		char *s;

		if (steps == TL_PY_MAX_FRAMES || seen_before(seen, steps, frame) ||
		    tl_pyproc_read(w->p, frame, head, span)) {
			t->truncated = true;
			break;
		}
		seen[steps] = frame;
		if (head[l->frame_owner] != TL_PY_FRAME_OWNED_BY_CSTACK) {
			s = frame_str(w, word_at(head, l->frame_code), word_at(head, l->frame_instr));
			if (s)
				t->frames[t->nframes++] = s;
		}
		frame = word_at(head, l->frame_previous);
	}
	return 0;
}

/* Walks one thread state into a new entry of w->threads: 0, -EFAULT when
 * it is unreadable, -ENOMEM.  *next is the next thread state. */
static int walk_thread(struct walk *w, uint64_t tstate, uint64_t *next)
{
	const struct tl_pylayout *l = w->l;
	size_t span = tl_pylayout_tstate_span(l);
	struct tl_py_thread *t;
	uint8_t head[SPAN_MAX];
	uint64_t frame, tid;

	if (span > sizeof(head) || tl_pyproc_read(w->p, tstate, head, span))
		return -EFAULT;
	*next = word_at(head, l->tstate_next);
	frame = word_at(head, l->tstate_frame);
	if (l->via_cframe)
		frame = frame ? tl_pyproc_word(w->p, frame + l->cframe_current_frame) : 0;
	tid = word_at(head, l->tstate_native_tid);
	w->tstates[w->n] = tstate;
	t = &w->threads[w->n++];
	t->tid = tid <= INT32_MAX ? (pid_t)tid : 0;
	return walk_frames(w, frame, t);
}

int tl_py_walk(struct tl_pyproc *p, const struct tl_pylayout *l, struct tl_py_thread **out,
	       size_t *n)
{
	struct walk w = { .p = p, .l = l };
	uint64_t interp, tstate;
	int err = 0;

	*out = NULL;
	*n = 0;
	interp = tl_pyproc_word(p, p->runtime + l->runtime_interp_head);
	if (!interp)
		return -EFAULT;
	w.threads = calloc(TL_PY_MAX_THREADS, sizeof(*w.threads));
	w.tstates = calloc(TL_PY_MAX_THREADS, sizeof(*w.tstates));
	if (!w.threads || !w.tstates)
		err = -ENOMEM;
	/* A list that loops (read torn) ends at a thread state seen before. */
	for (int i = 0; interp && i < TL_PY_MAX_INTERPS && !err; i++) {
		tstate = tl_pyproc_word(p, interp + l->interp_threads_head);
		while (tstate && w.n < TL_PY_MAX_THREADS && !seen_before(w.tstates, w.n, tstate) &&
		       !err)
			err = walk_thread(&w, tstate, &tstate);
		interp = tl_pyproc_word(p, interp + l->interp_next);
	}
	free(w.tstates);
	if (err == -ENOMEM) {
		tl_py_stacks_free(w.threads, w.n);
		return err;
	}
	/* A thread state that cannot be read ends the walk; what was read stands. */
	*out = w.threads;
	*n = w.n;
	return 0;
}

/* The layout of the process's version: the built-in table, or what the
 * interpreter publishes. */
static int layout_of(struct tl_pyproc *p, struct tl_pylayout *l)
{
	uint8_t dbg[TL_PY_DEBUG_OFFSETS_MAX];
	int err;

	if (!p->version || p->version >> 24 != 3)
		return -EPROTONOSUPPORT;
	err = tl_pylayout_builtin(p->version, l);
	if (err != -EPROTONOSUPPORT)
		return err;
	err = tl_pyproc_read(p, p->runtime, dbg, sizeof(dbg));
	if (err)
		return err;
	err = tl_pylayout_from_debug(dbg, sizeof(dbg), p->version, l);
	return err == -EPROTONOSUPPORT ? err : err ? -EFAULT : 0;
}

int tl_py_stacks(pid_t pid, struct tl_py_thread **out, size_t *n)
{
	struct tl_pyproc p;
	struct tl_pylayout l;
	int err;

	*out = NULL;
	*n = 0;
	err = tl_pyproc_open(pid, &p);
	if (!err)
		err = layout_of(&p, &l);
	if (!err)
		err = tl_py_walk(&p, &l, out, n);
	tl_pyproc_close(&p);
	return err;
}

int tl_py_version(pid_t pid, uint32_t *hex)
{
	struct tl_pyproc p;
	int err;

	*hex = 0;
	err = tl_pyproc_open(pid, &p);
	if (!err)
		*hex = p.version;
	tl_pyproc_close(&p);
	return err;
}

void tl_py_stacks_free(struct tl_py_thread *threads, size_t n)
{
	for (size_t i = 0; threads && i < n; i++) {
		for (size_t k = 0; k < threads[i].nframes; k++)
			free(threads[i].frames[k]);
		free(threads[i].frames);
	}
	free(threads);
}

const char *tl_py_strerror(int err)
{
	switch (err) {
	case -ESRCH:
		return "no such process";
	case -EPERM:
	case -EACCES:
		return "not permitted to read the process's memory";
	case -ENOEXEC:
		return "not a CPython process (no _PyRuntime symbol in what it maps)";
	case -EPROTONOSUPPORT:
		return "unsupported CPython version (3.11 to 3.13 are read)";
	case -EFAULT:
		return "the interpreter's state could not be read";
	case -ENOMEM:
		return "out of memory";
	default:
		return "cannot read the Python stacks";
	}
}
