/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Python stacks read from outside: the location-table decoder against
 * crafted and CPython's own tables, the walk against forged (hostile)
 * interpreter states, and real interpreters (/usr/bin/python3, python3 on
 * PATH, and any pyenv 3.x) blocked in a generator's recv() and in
 * Event.wait().  Run as root (it reads other processes' memory).
 */
#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "pyframes.h"
#include "pylayout.h"
#include "pylinetable.h"
#include "pyproc.h"
#include "unit.h"

#define PY_READY_MS	15000	/* an interpreter's start-up, under load */
#define PY_SETTLE_MS	5000	/* until its threads block where expected */

/* RUN for tests named at run time (one per interpreter found). */
static void report(const char *name, int failures_before)
{
	if (unit_failures == failures_before) {
		printf("ok %s\n", name);
		unit_passed++;
	} else {
		printf("not ok %s\n", name);
		unit_failed++;
	}
	fflush(stdout);
}

/* ------------------------------------------------------------ location table */

/* First byte of an entry: kind, and how many code units it covers. */
#define ENTRY(kind, units)	((uint8_t)(0x80 | (kind) << 3 | ((units) - 1)))

static void linetable_forms(void)
{
	const uint8_t tab[] = {
		ENTRY(0, 2), 0x12,		/* short form: line 20 (first) */
		ENTRY(11, 1), 4, 9,		/* one-line form: +1 -> 21 */
		ENTRY(13, 3), 0x07,		/* no columns: svarint -3 -> 18 */
		ENTRY(15, 1),			/* no location */
		ENTRY(14, 1), 0x50, 0x06, 0, 1, 2,	/* long: +200 -> 218 */
		ENTRY(12, 8), 0, 0,		/* one-line form: +2 -> 220 */
	};
	const int want[] = { 20, 20, 21, 18, 18, 18, 0, 218, 220, 220, 220, 220, 220, 220, 220, 220 };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_EQ_U64(tl_py_line(tab, sizeof(tab), 20, (int64_t)i), want[i]);
	CHECK_EQ_U64(tl_py_line(tab, sizeof(tab), 20, 16), 0);	/* past the table */
	CHECK_EQ_U64(tl_py_line(tab, sizeof(tab), 20, -1), 20);	/* frame not started */
	CHECK_EQ_U64(tl_py_line(NULL, 0, 20, 0), 0);
}

static void linetable_hostile(void)
{
	const uint8_t cut_varint[] = { ENTRY(13, 1), 0x40 };		/* continuation, then nothing */
	const uint8_t cut_columns[] = { ENTRY(11, 1), 4 };		/* one column byte of two */
	const uint8_t no_start[] = { 0x12, ENTRY(0, 1), 0 };		/* bit 7 clear */
	const uint8_t long_varint[] = { ENTRY(13, 1), 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x3f };
	const uint8_t start_in_varint[] = { ENTRY(14, 1), 0x40, ENTRY(0, 1), 0 };
	uint8_t huge[64];
	size_t n = 0;

	CHECK_EQ_U64(tl_py_line(cut_varint, sizeof(cut_varint), 5, 0), 0);
	CHECK_EQ_U64(tl_py_line(cut_columns, sizeof(cut_columns), 5, 0), 0);
	CHECK_EQ_U64(tl_py_line(no_start, sizeof(no_start), 5, 0), 0);
	CHECK_EQ_U64(tl_py_line(long_varint, sizeof(long_varint), 5, 0), 0);
	CHECK_EQ_U64(tl_py_line(start_in_varint, sizeof(start_in_varint), 5, 0), 0);
	/* Deltas piling past any real line: no line, no overflow. */
	while (n + 6 <= sizeof(huge)) {
		const uint8_t e[] = { ENTRY(13, 1), 0x7e, 0x7f, 0x7f, 0x7f, 0x0f };

		memcpy(huge + n, e, sizeof(e));
		n += sizeof(e);
	}
	CHECK_EQ_U64(tl_py_line(huge, n, 5, (int64_t)(n / 6) - 1), 0);
	CHECK_EQ_U64(tl_py_line(huge, n, 5, INT64_MAX), 0);
}

static bool hex_bytes(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	if (!strcmp(hex, "-")) {
		*len = 0;
		return true;
	}
	if (n % 2 || n / 2 > cap)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return false;
		out[i] = (uint8_t)b;
	}
	*len = n / 2;
	return true;
}

/* Every code object of a few stdlib modules, as python prints it:
 * "firstlineno linetable-hex line,line,..." (the line of each code unit
 * by co_positions(), 0 for none). */
static const char linetable_dump_py[] =
	"import importlib\n"
	"def walk(co):\n"
	"    yield co\n"
	"    for c in co.co_consts:\n"
	"        if hasattr(c, 'co_linetable'):\n"
	"            yield from walk(c)\n"
	"for name in ('threading', 'socket', 'json.decoder', 'argparse', 'asyncio.base_events'):\n"
	"    f = importlib.import_module(name).__file__\n"
	"    for co in walk(compile(open(f).read(), f, 'exec')):\n"
	"        ls = [p[0] if p[0] and p[0] > 0 else 0 for p in co.co_positions()]\n"
	"        print(co.co_firstlineno, co.co_linetable.hex() or '-', ','.join(map(str, ls)) or '-')\n";

/* Our decoder gives the line CPython's co_positions() gives for every code
 * unit of every code object of some real modules. */
static void linetable_as_cpython(const char *python)
{
	static uint8_t tab[1 << 20];
	char cmd[512], *line = NULL;
	size_t cap = 0, objects = 0, units = 0, wrong = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' -I -c \"$TL_PY_DUMP\"", python);
	setenv("TL_PY_DUMP", linetable_dump_py, 1);
	f = popen(cmd, "r");
	CHECK(f);
	while (f && getline(&line, &cap, f) > 0) {
		char *hex = strchr(line, ' '), *lines, *tok, *save = NULL;
		size_t len = 0;
		int first = atoi(line);
		int64_t unit = 0;

		lines = hex ? strchr(hex + 1, ' ') : NULL;
		if (!lines) {
			wrong++;
			continue;
		}
		*hex++ = 0;
		*lines++ = 0;
		lines[strcspn(lines, "\n")] = 0;
		if (!hex_bytes(hex, tab, sizeof(tab), &len)) {
			wrong++;
			continue;
		}
		objects++;
		for (tok = strtok_r(lines, ",", &save); tok && strcmp(tok, "-");
		     tok = strtok_r(NULL, ",", &save), unit++) {
			int got = tl_py_line(tab, len, first, unit);

			units++;
			if (got != atoi(tok) && wrong++ < 5)
				fprintf(stderr, "  firstlineno %d unit %" PRId64 ": %d, CPython says %s\n",
					first, unit, got, tok);
		}
	}
	free(line);
	CHECK(f && pclose(f) == 0);
	CHECK_EQ_U64(wrong, 0);
	CHECK(objects > 300 && units > 30000);
}

/* ------------------------------------------------------------ forged states */

/* 3.11's layout over objects built in our own memory: each an aligned
 * byte array, pointers and fields written at the layout's offsets. */
struct forged {
	_Alignas(16) uint8_t runtime[64], interp[64], t1[192], t2[192], cf1[16], cf2[16];
	_Alignas(16) uint8_t f1[80], f2[80], fc[80], f4[80], f5[80], f3[80];
	_Alignas(16) uint8_t c1[256], c2[256], c3[256], c4[256];
	_Alignas(16) uint8_t s_ctrl[64], s_ucs4[128], s_long[400], s_noncompact[64], s_q[64], s_f[64];
	_Alignas(16) uint8_t b1[64], b_huge[64];
	_Alignas(16) uint8_t code_type[16], str_type[16], bytes_type[16];
};

static void put64(uint8_t *obj, uint64_t off, const void *ptr_or_null, uint64_t value)
{
	uint64_t v = ptr_or_null ? (uint64_t)(uintptr_t)ptr_or_null : value;

	memcpy(obj + off, &v, sizeof(v));
}

#define ADDR(x)	((uint64_t)(uintptr_t)(x))

static void forge_str(struct forged *m, const struct tl_pylayout *l, uint8_t *s, uint64_t length,
		      uint32_t state, const void *data, size_t size, bool ascii)
{
	put64(s, l->ob_type, m->str_type, 0);
	put64(s, l->unicode_length, NULL, length);
	memcpy(s + l->unicode_state, &state, sizeof(state));
	memcpy(s + (ascii ? l->unicode_ascii_data : l->unicode_compact_data), data, size);
}

static void forge_code(struct forged *m, const struct tl_pylayout *l, uint8_t *c, const void *type,
		       int firstlineno, uint8_t *qualname, uint8_t *filename, uint8_t *table)
{
	put64(c, l->ob_type, type, 0);
	memcpy(c + l->code_firstlineno, &firstlineno, sizeof(firstlineno));
	put64(c, l->code_qualname, qualname, 0);
	put64(c, l->code_filename, filename, 0);
	put64(c, l->code_linetable, table, 0);
	(void)m;
}

static void forge_frame(const struct tl_pylayout *l, uint8_t *f, uint8_t *code, int64_t unit,
			uint64_t previous, uint8_t owner)
{
	put64(f, l->frame_code, code, 0);
	put64(f, l->frame_instr, NULL, ADDR(code) + l->code_bytecode + (uint64_t)(unit * 2));
	put64(f, l->frame_previous, NULL, previous);
	f[l->frame_owner] = owner;
}

/*
 * Two threads whose list loops back; the first's chain holds a code object
 * of the wrong type, a C-stack sentinel, names with control characters,
 * UCS-4 with a surrogate, a 2^40-character name, a non-compact string, a
 * location table said to be 1 GiB, and ends in unmapped memory; the
 * second's chain loops on itself.
 */
static void forged_states(void)
{
	static struct forged m;
	const uint32_t ascii = 1u << 6 | 1u << 5 | 1u << 2, ucs4 = 1u << 5 | 4u << 2;
	const uint32_t ucs4_name[] = { '/', 0xfc, 0x1f600, 0xd800, '.', 'p', 'y' };
	const uint8_t table[] = { ENTRY(0, 2), 0, ENTRY(11, 2), 0, 0 };
	struct tl_pyproc p = { .pid = getpid(), .memfd = -1, .runtime = ADDR(m.runtime),
			       .code_type = ADDR(m.code_type), .unicode_type = ADDR(m.str_type),
			       .bytes_type = ADDR(m.bytes_type) };
	struct tl_py_thread *t = NULL;
	struct tl_pylayout l;
	char longname[TL_PY_MAX_NAME + 32];
	size_t n = 0;
	uint64_t size;

	CHECK_EQ_U64(tl_pylayout_builtin(0x030b02f0, &l), 0);
	memset(m.s_long + l.unicode_ascii_data, 'a', sizeof(m.s_long) - l.unicode_ascii_data);
	forge_str(&m, &l, m.s_long, 1ull << 40, ascii, "", 0, true);
	forge_str(&m, &l, m.s_ctrl, 8, ascii, "han\ndler", 8, true);
	forge_str(&m, &l, m.s_ucs4, 7, ucs4, ucs4_name, sizeof(ucs4_name), false);
	forge_str(&m, &l, m.s_noncompact, 3, 1u << 2, "abc", 3, true);
	forge_str(&m, &l, m.s_q, 1, ascii, "q", 1, true);
	forge_str(&m, &l, m.s_f, 4, ascii, "f.py", 4, true);
	put64(m.b1, l.ob_type, m.bytes_type, 0);
	put64(m.b1, l.bytes_size, NULL, sizeof(table));
	memcpy(m.b1 + l.bytes_data, table, sizeof(table));
	put64(m.b_huge, l.ob_type, m.bytes_type, 0);
	put64(m.b_huge, l.bytes_size, NULL, 1ull << 30);

	forge_code(&m, &l, m.c1, m.code_type, 10, m.s_ctrl, m.s_ucs4, m.b1);
	forge_code(&m, &l, m.c2, m.str_type, 10, m.s_q, m.s_f, m.b1);	/* not a code object */
	forge_code(&m, &l, m.c3, m.code_type, 5, m.s_long, m.s_noncompact, m.b1);
	forge_code(&m, &l, m.c4, m.code_type, 7, m.s_q, m.s_f, m.b_huge);
	forge_frame(&l, m.f1, m.c1, 3, ADDR(m.f2), 0);
	forge_frame(&l, m.f2, m.c2, 0, ADDR(m.fc), 0);
	forge_frame(&l, m.fc, m.c1, 0, ADDR(m.f4), TL_PY_FRAME_OWNED_BY_CSTACK);
	forge_frame(&l, m.f4, m.c3, -1, ADDR(m.f5), 1);
	forge_frame(&l, m.f5, m.c4, 0, 16, 2);		/* previous: unmapped */
	forge_frame(&l, m.f3, m.c1, 0, ADDR(m.f3), 0);	/* its own previous */

	put64(m.runtime, l.runtime_interp_head, m.interp, 0);
	put64(m.interp, l.interp_threads_head, m.t1, 0);
	put64(m.t1, l.tstate_next, m.t2, 0);
	put64(m.t1, l.tstate_frame, m.cf1, 0);
	put64(m.t1, l.tstate_native_tid, NULL, 111);
	put64(m.cf1, l.cframe_current_frame, m.f1, 0);
	put64(m.t2, l.tstate_next, m.t1, 0);		/* the list loops */
	put64(m.t2, l.tstate_frame, m.cf2, 0);
	put64(m.t2, l.tstate_native_tid, NULL, 1ull << 40);	/* no such tid */
	put64(m.cf2, l.cframe_current_frame, m.f3, 0);

	CHECK_EQ_U64(tl_py_walk(&p, &l, &t, &n), 0);
	CHECK_EQ_U64(n, 2);
	if (n == 2) {
		memset(longname, 'a', TL_PY_MAX_NAME);
		strcpy(longname + TL_PY_MAX_NAME, "... (?:5)");
		CHECK_EQ_U64(t[0].tid, 111);
		CHECK_EQ_U64(t[0].nframes, 3);
		CHECK(t[0].truncated);
		if (t[0].nframes == 3) {
			CHECK_STR(t[0].frames[0], "han?dler (/\xc3\xbc\xf0\x9f\x98\x80?.py:11)");
			CHECK_STR(t[0].frames[1], longname);
			CHECK_STR(t[0].frames[2], "q (f.py)");
		}
		CHECK_EQ_U64(t[1].tid, 0);
		CHECK_EQ_U64(t[1].nframes, 1);
		CHECK(t[1].truncated);
	}
	tl_py_stacks_free(t, n);

	/* A runtime in unmapped memory. */
	p.runtime = 16;
	CHECK_EQ_U64(tl_py_walk(&p, &l, &t, &n), -EFAULT);
	CHECK_EQ_U64(n, 0);
	CHECK(!t);
	/* A length field that would wrap the read's end. */
	size = UINT64_MAX;
	CHECK_EQ_U64(tl_pyproc_read(&p, UINT64_MAX - 4, &size, sizeof(size)), -EFAULT);
	tl_pyproc_close(&p);
}

/* 3.13's published offsets: taken when whole, refused when not. */
static void debug_offsets(void)
{
	/* Where _Py_DebugOffsets keeps each structure's size. */
	static const size_t sizes[] = { 24, 48, 152, 224, 272, 352, 512, 536 };
	static uint8_t buf[TL_PY_DEBUG_OFFSETS_MAX];
	struct tl_pylayout l;
	uint64_t v;

	memset(buf, 0, sizeof(buf));
	CHECK_EQ_U64(tl_pylayout_from_debug(buf, sizeof(buf), 0x030d00f0, &l), -ENOENT);
	memcpy(buf, "xdebugpy", 8);
	v = 0x030d00f0;
	memcpy(buf + 8, &v, 8);
	/* Every field at 8, in structures of 4096 bytes. */
	v = 8;
	for (size_t off = 24; off < 584; off += 8)
		memcpy(buf + off, &v, 8);
	v = 4096;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		memcpy(buf + sizes[i], &v, 8);
	v = 0;
	memcpy(buf + 16, &v, 8);		/* not free-threaded */
	CHECK_EQ_U64(tl_pylayout_from_debug(buf, sizeof(buf), 0x030d00f0, &l), 0);
	CHECK_EQ_U64(l.frame_code, 8);
	CHECK_EQ_U64(tl_pylayout_from_debug(buf, sizeof(buf), 0x030e00f0, &l), -EPROTONOSUPPORT);
	CHECK_EQ_U64(tl_pylayout_from_debug(buf, 100, 0x030d00f0, &l), -ENOENT);
	v = 4093;				/* interpreter_frame.previous past its size */
	memcpy(buf + 232, &v, 8);
	CHECK_EQ_U64(tl_pylayout_from_debug(buf, sizeof(buf), 0x030d00f0, &l), -EINVAL);
	CHECK_EQ_U64(tl_pylayout_builtin(0x030a0df0, &l), -EPROTONOSUPPORT);
}

/* ------------------------------------------------------------ live interpreters */

/* Blocks the main thread in recv() inside generator stream() driven by
 * handler(), and a second thread in Event.wait() under stuck_elsewhere().
 * "# @" marks the lines the stacks must name. */
static const char leak_py[] =
	"import socket, threading\n"
	"\n"
	"def stuck_elsewhere(ev):\n"
	"    ev.wait()  # @wait\n"
	"\n"
	"def stream(sock):\n"
	"    while True:\n"
	"        data = sock.recv(4096)  # @recv\n"
	"        if not data:\n"
	"            return\n"
	"        yield data\n"
	"\n"
	"def handler(sock):\n"
	"    for chunk in stream(sock):  # @for\n"
	"        pass\n"
	"\n"
	"ev = threading.Event()\n"
	"t = threading.Thread(target=stuck_elsewhere, args=(ev,))\n"
	"t.start()\n"
	"a, b = socket.socketpair()\n"
	"print(threading.get_native_id(), t.native_id, flush=True)\n"
	"handler(a)  # @main\n";

static char script_dir[] = "/tmp/tl-pyframes-XXXXXX";
static char script[64];

static int marker_line(const char *marker)
{
	int line = 1;

	for (const char *s = leak_py; *s; s++) {
		if (!strncmp(s, marker, strlen(marker)))
			return line;
		line += *s == '\n';
	}
	return -1;
}

static bool write_script(void)
{
	FILE *f;

	if (!mkdtemp(script_dir))
		return false;
	snprintf(script, sizeof(script), "%s/leak_app.py", script_dir);
	f = fopen(script, "w");
	if (!f)
		return false;
	fputs(leak_py, f);
	return !fclose(f);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Starts python (by PATH when search) on the script, or on code when not
 * NULL: its pid, and the two thread ids it prints first; -1 on failure. */
static pid_t start_python(const char *python, bool search, const char *code, pid_t *main_tid,
			  pid_t *other_tid)
{
	char line[128];
	struct pollfd pfd;
	size_t got = 0;
	int out[2];
	pid_t pid;

	if (pipe(out))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		if (code)
			execl(python, python, "-I", "-c", code, (char *)NULL);
		else if (search)
			execlp(python, python, "-I", script, (char *)NULL);
		else
			execl(python, python, "-I", script, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (pid > 0 && got < sizeof(line) - 1 && !memchr(line, '\n', got) &&
	       poll(&pfd, 1, PY_READY_MS) == 1) {
		ssize_t r = read(out[0], line + got, sizeof(line) - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(out[0]);
	line[got] = 0;
	if (pid > 0 && sscanf(line, "%d %d", main_tid, other_tid) != 2) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static const struct tl_py_thread *thread_of(const struct tl_py_thread *t, size_t n, pid_t tid)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].tid == tid)
			return &t[i];
	return NULL;
}

static bool has_frame(const struct tl_py_thread *t, const char *frame)
{
	for (size_t i = 0; t && i < t->nframes; i++)
		if (!strcmp(t->frames[i], frame))
			return true;
	return false;
}

/* Whether the stacks show both threads where the script blocks them. */
static bool stacks_as_expected(const struct tl_py_thread *t, size_t n, pid_t main_tid,
			       pid_t other_tid, bool verbose)
{
	const struct tl_py_thread *m = thread_of(t, n, main_tid), *o = thread_of(t, n, other_tid);
	char recv[128], loop[128], mod[128], wait[128];
	bool ok;

	snprintf(recv, sizeof(recv), "stream (%s:%d)", script, marker_line("# @recv"));
	snprintf(loop, sizeof(loop), "handler (%s:%d)", script, marker_line("# @for"));
	snprintf(mod, sizeof(mod), "<module> (%s:%d)", script, marker_line("# @main"));
	snprintf(wait, sizeof(wait), "stuck_elsewhere (%s:%d)", script, marker_line("# @wait"));
	ok = n == 2 && m && o && m->nframes == 3 && !m->truncated &&
	     !strcmp(m->frames[0], recv) && !strcmp(m->frames[1], loop) && !strcmp(m->frames[2], mod) &&
	     !o->truncated && o->nframes >= 3 && !strncmp(o->frames[0], "Condition.wait (", 16) &&
	     !strncmp(o->frames[1], "Event.wait (", 12) && has_frame(o, wait);
	if (!ok && verbose) {
		fprintf(stderr, "  want main %d: %s < %s < %s; thread %d: ... %s\n",
			main_tid, recv, loop, mod, other_tid, wait);
		for (size_t i = 0; i < n; i++) {
			fprintf(stderr, "  thread %d%s:\n", t[i].tid, t[i].truncated ? " (truncated)" : "");
			for (size_t k = 0; k < t[i].nframes; k++)
				fprintf(stderr, "    %s\n", t[i].frames[k]);
		}
	}
	return ok;
}

/* The stacks of a python blocked in the script, read until they settle. */
static void live_stacks(const char *python, bool search)
{
	struct tl_py_thread *t = NULL;
	pid_t pid, main_tid = 0, other_tid = 0;
	uint64_t deadline;
	size_t n = 0;
	int err;

	pid = start_python(python, search, NULL, &main_tid, &other_tid);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	deadline = now_ms() + PY_SETTLE_MS;
	for (;;) {
		err = tl_py_stacks(pid, &t, &n);
		if ((!err && stacks_as_expected(t, n, main_tid, other_tid, false)) || now_ms() > deadline)
			break;
		tl_py_stacks_free(t, n);
		usleep(50000);
	}
	if (err)
		fprintf(stderr, "  %s: %s\n", python, tl_py_strerror(err));
	CHECK_EQ_U64(err, 0);
	CHECK(!err && stacks_as_expected(t, n, main_tid, other_tid, true));
	tl_py_stacks_free(t, n);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A CPython this does not read says so, and reads nothing. */
static void live_unsupported(const char *python)
{
	struct tl_py_thread *t = NULL;
	pid_t pid, main_tid, other_tid;
	size_t n = 7;
	int err;

	/* Any python 3 runs this. */
	pid = start_python(python, false, "import time; print(0, 0, flush=True); time.sleep(60)",
			   &main_tid, &other_tid);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	err = tl_py_stacks(pid, &t, &n);
	CHECK(err == -EPROTONOSUPPORT || err == -ENOEXEC);
	CHECK(!t && n == 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Every pyenv CPython 3.x: read when 3.11 to 3.13, refused otherwise. */
static void pyenv_interpreters(void)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");
	char pattern[512], name[96];
	glob_t g;

	if (root)
		snprintf(pattern, sizeof(pattern), "%s/versions/3.*/bin/python3", root);
	else
		snprintf(pattern, sizeof(pattern), "%s/.pyenv/versions/3.*/bin/python3",
			 home ? home : "/root");
	if (glob(pattern, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *v = strstr(g.gl_pathv[i], "/versions/") + strlen("/versions/");
		int minor = atoi(v + 2), before = unit_failures;
		bool readable = minor >= 11 && minor <= 13;
		char tag[32];
		size_t k;

		for (k = 0; v[k] && v[k] != '/' && k < sizeof(tag) - 1; k++)
			tag[k] = v[k] == '.' ? '_' : v[k];
		tag[k] = 0;
		snprintf(name, sizeof(name), "%s_pyenv_%s", readable ? "stacks" : "refused", tag);
		if (readable)
			live_stacks(g.gl_pathv[i], false);
		else
			live_unsupported(g.gl_pathv[i]);
		report(name, before);
		if (readable) {
			before = unit_failures;
			snprintf(name, sizeof(name), "lines_pyenv_%s", tag);
			linetable_as_cpython(g.gl_pathv[i]);
			report(name, before);
		}
	}
	globfree(&g);
}

static void stacks_usr_bin_python3(void)
{
	live_stacks("/usr/bin/python3", false);
}

static void stacks_path_python3(void)
{
	live_stacks("python3", true);
}

static void lines_usr_bin_python3(void)
{
	linetable_as_cpython("/usr/bin/python3");
}

/* Not Python: ourselves, a sleep(1), a pid that is gone. */
static void not_python(void)
{
	struct tl_py_thread *t = NULL;
	uint32_t hex = 1;
	size_t n = 7;
	pid_t pid;

	CHECK_EQ_U64(tl_py_stacks(getpid(), &t, &n), -ENOEXEC);
	CHECK(!t && n == 0);
	CHECK(strstr(tl_py_strerror(-ENOEXEC), "not a CPython"));
	pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	usleep(100000);
	CHECK_EQ_U64(tl_py_stacks(pid, &t, &n), -ENOEXEC);
	CHECK_EQ_U64(tl_py_version(pid, &hex), -ENOEXEC);
	CHECK_EQ_U64(hex, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* Reaped: no such process now (a pid is not reused at once). */
	CHECK_EQ_U64(tl_py_stacks(pid, &t, &n), -ESRCH);
	CHECK_EQ_U64(tl_py_stacks(0, &t, &n), -ESRCH);
	CHECK_EQ_U64(tl_py_stacks(-1, &t, &n), -ESRCH);
	CHECK(!t && n == 0);
}

int main(void)
{
	bool root = geteuid() == 0;

	RUN(linetable_forms);
	RUN(linetable_hostile);
	RUN(forged_states);
	RUN(debug_offsets);
	RUN(not_python);
	RUN(lines_usr_bin_python3);
	if (!root || !write_script()) {
		fprintf(stderr, "  live interpreters not read: %s\n",
			root ? "no script directory" : "not root");
		return UNIT_END();
	}
	RUN(stacks_usr_bin_python3);
	RUN(stacks_path_python3);
	pyenv_interpreters();
	unlink(script);
	rmdir(script_dir);
	return UNIT_END();
}
