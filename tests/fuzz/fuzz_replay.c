// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the whole replay: an input starting with 'T' is a
 * log file, any other is a block's raw data behind 9 bytes (a selector
 * byte, u32 ids_before, u32 event count), framed with valid CRCs as in
 * fuzz_logfile.c so that events reach the engine.  Each is replayed in
 * every output mode into memory.  Beyond the sanitizers, it checks that
 * every JSON output line is one valid JSON value (UTF-8 included) and that
 * the heap replay takes stays within a bound set by the input's size and
 * the connections it may track.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/allocator_interface.h>
#include "run.h"
#include "fuzz_frame.h"

#define MS 1000000ULL
/* Peak heap allowed: the reader's buffers and small tables, stacks at 16
 * bytes per log byte (replay's cap), and per connection a record, its
 * maps and usage, and a leak group with room for the array to grow. */
#define HEAP_FLOOR (16u << 20)
#define HEAP_PER_INPUT_BYTE 32
#define HEAP_PER_CONN 4096
#define MAX_CONNS 4096		/* for the modes that do not ask for a tiny cap */

static size_t heap_base, heap_peak;
static int tracking;

static void on_malloc(const volatile void *p, size_t size)
{
	size_t now;

	(void)p;
	(void)size;
	if (!tracking)
		return;
	now = __sanitizer_get_current_allocated_bytes();
	if (now > heap_peak)
		heap_peak = now;
}

static void on_free(const volatile void *p)
{
	(void)p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
	return 0;
}

static void quiet(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

/* ---- a strict JSON checker (RFC 8259) ---- */

struct js {
	const unsigned char *p, *end;
	int depth;
};

static void ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int lit(struct js *j, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n))
		return 0;
	j->p += n;
	return 1;
}

static int hex4(struct js *j, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, j->p++) {
		unsigned c;

		if (j->p >= j->end)
			return 0;
		c = *j->p;
		if (c >= '0' && c <= '9')
			c -= '0';
		else if ((c | 32) >= 'a' && (c | 32) <= 'f')
			c = (c | 32) - 'a' + 10;
		else
			return 0;
		*v = *v << 4 | c;
	}
	return 1;
}

/* One UTF-8 sequence, no overlongs, surrogates nor code points past 10FFFF. */
static int utf8(struct js *j)
{
	const unsigned char *p = j->p;
	unsigned c = *p, n, cp, min;

	if (c < 0x80)
		n = 0, cp = c, min = 0;
	else if ((c & 0xe0) == 0xc0)
		n = 1, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 2, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 3, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if ((size_t)(j->end - p) <= n)
		return 0;
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	j->p += n + 1;
	return 1;
}

static int string(struct js *j)
{
	if (!lit(j, "\""))
		return 0;
	while (j->p < j->end) {
		unsigned c = *j->p, v;

		if (c == '"') {
			j->p++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c != '\\') {
			if (!utf8(j))
				return 0;
			continue;
		}
		if (++j->p >= j->end)
			return 0;
		c = *j->p++;
		if (c == 'u') {
			if (!hex4(j, &v))
				return 0;
		} else if (!strchr("\"\\/bfnrt", (int)c) || !c) {
			return 0;
		}
	}
	return 0;
}

static int digits(struct js *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static int number(struct js *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!digits(j))
		return 0;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digits(j))
			return 0;
	}
	if (j->p < j->end && (*j->p | 32) == 'e') {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digits(j))
			return 0;
	}
	return 1;
}

static int value(struct js *j);

static int members(struct js *j, char close, int keyed)
{
	j->p++;
	if (++j->depth > 64)
		return 0;
	ws(j);
	if (lit(j, close == '}' ? "}" : "]"))
		return j->depth--, 1;
	for (;;) {
		ws(j);
		if (keyed) {
			if (!string(j))
				return 0;
			ws(j);
			if (!lit(j, ":"))
				return 0;
		}
		if (!value(j))
			return 0;
		ws(j);
		if (lit(j, ","))
			continue;
		if (!lit(j, close == '}' ? "}" : "]"))
			return 0;
		j->depth--;
		return 1;
	}
}

static int value(struct js *j)
{
	ws(j);
	if (j->p >= j->end)
		return 0;
	switch (*j->p) {
	case '{':
		return members(j, '}', 1);
	case '[':
		return members(j, ']', 0);
	case '"':
		return string(j);
	case 't':
		return lit(j, "true");
	case 'f':
		return lit(j, "false");
	case 'n':
		return lit(j, "null");
	default:
		return number(j);
	}
}

static int json_line_ok(const char *s, size_t n)
{
	struct js j = { (const unsigned char *)s, (const unsigned char *)s + n, 0 };

	if (!value(&j))
		return 0;
	ws(&j);
	return j.p == j.end;
}

static void check_json(const char *out, size_t len, const char *mode)
{
	const char *p = out, *end = out + len;

	if (len && end[-1] != '\n') {
		fprintf(stderr, "fuzz_replay: %s: output does not end in a newline\n", mode);
		abort();
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(nl - p);

		if (!json_line_ok(p, n)) {
			fprintf(stderr, "fuzz_replay: %s: not a JSON line: %.*s\n", mode,
				(int)(n < 400 ? n : 400), p);
			abort();
		}
		p = nl + 1;
	}
}

/* ---- the replay in each mode ---- */

struct mode {
	const char *name;
	enum tl_format fmt;
	bool events, leaks;
	uint64_t interval_ns;
	size_t max_conns;
};

static const struct mode modes[] = {
	{ "text", TL_FMT_TEXT, false, false, 0, MAX_CONNS },
	{ "text --events", TL_FMT_TEXT, true, false, 0, MAX_CONNS },
	{ "--json", TL_FMT_JSON, false, false, 0, MAX_CONNS },
	{ "--json --events -i 1ms", TL_FMT_JSON, true, false, MS, MAX_CONNS },
	{ "--csv", TL_FMT_CSV, false, false, 0, MAX_CONNS },
	{ "--csv --events --max-conns 2", TL_FMT_CSV, true, false, 0, 2 },
	{ "--leaks", TL_FMT_TEXT, false, true, 0, MAX_CONNS },
	{ "--leaks --json -i 1ms", TL_FMT_JSON, false, true, MS, MAX_CONNS },
	{ "--json --max-conns 2", TL_FMT_JSON, false, false, 0, 2 },
	{ "--leaks --max-conns 2 -i 1ms", TL_FMT_TEXT, false, true, MS, 2 },
};

static uint64_t count_events(const uint8_t *data, size_t len)
{
	struct tl_event evs[64];
	struct tl_log_reader *r;
	char err[256];
	uint64_t n = 0;
	int ret;

	if (tl_logr_open_mem(&r, data, len, NULL, quiet, NULL, err, sizeof(err)))
		return 0;
	while ((ret = tl_logr_read(r, evs, 64)) > 0)
		n += (uint64_t)ret;
	tl_logr_close(r);
	return n;
}

static void run(const uint8_t *data, size_t len, const struct mode *m, uint64_t nevents,
		FILE *devnull)
{
	struct tl_cli cli;
	struct tl_log_reader *r;
	struct tl_log_header h;
	char err[256], *out = NULL;
	size_t outlen = 0, conns, bound;
	FILE *f, *saved_err = stderr;

	memset(&cli, 0, sizeof(cli));
	cli.fmt = m->fmt;
	cli.events = m->events;
	cli.leaks = m->leaks;
	cli.interval_ns = m->interval_ns;
	cli.max_conns = m->max_conns;
	cli.min_age_ns = MS;
	cli.path = "fuzz.tlog";
	if (tl_logr_open_mem(&r, data, len, &h, quiet, NULL, err, sizeof(err)))
		return;
	f = open_memstream(&out, &outlen);
	if (!f)
		abort();
	heap_base = heap_peak = __sanitizer_get_current_allocated_bytes();
	tracking = 1;
	stderr = devnull;	/* replay's warnings and CSV summaries */
	tl_replay_run(&cli, r, &h, cli.path, f, NULL);
	stderr = saved_err;
	tracking = 0;
	tl_logr_close(r);
	conns = nevents < m->max_conns ? (size_t)nevents : m->max_conns;
	bound = HEAP_FLOOR + HEAP_PER_INPUT_BYTE * len + HEAP_PER_CONN * conns;
	if (heap_peak - heap_base > bound) {
		fprintf(stderr, "fuzz_replay: %s: peak heap %zu bytes from a %zu-byte log "
			"(%llu events), bound %zu\n", m->name, heap_peak - heap_base, len,
			(unsigned long long)nevents, bound);
		abort();
	}
	if (fclose(f))
		abort();
	if (m->fmt == TL_FMT_JSON)
		check_json(out, outlen, m->name);
	free(out);
}

static void replay_all(const uint8_t *data, size_t len)
{
	static FILE *devnull;
	uint64_t nevents;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	nevents = count_events(data, len);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		run(data, len, &modes[i], nevents, devnull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	fuzz_as_log(data, len, 1, replay_all);
	return 0;
}
