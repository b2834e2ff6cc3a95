/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The perf map reader (perfmap.h): well-formed maps, hostile ones, and the
 * file of a live process (this one) growing, replaced and swapped for
 * things that must not be read. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "perfmap.h"
#include "unit.h"

static long parse_str(struct tl_perfmap *pm, const char *s)
{
	return tl_perfmap_parse(pm, s, strlen(s));
}

/* The name at addr, "" for none; *off its offset. */
static const char *name_at(struct tl_perfmap *pm, uint64_t addr, uint64_t *off)
{
	const char *n = tl_perfmap_lookup(pm, addr, off);

	return n ? n : "";
}

static void well_formed(void)
{
	struct tl_perfmap pm;
	uint64_t off = 0;
	const char *map =
		"7f0000001000 40 JS:*handler /srv/app.js:12:3\n"
		"7f0000000000 100 Interpreter\n"
		"7F0000002000 0x20 LFoo;bar(I)V\r\n"
		"7f0000003000 10 old\n"
		"7f0000003000 10 new\n";

	tl_perfmap_init(&pm);
	CHECK_EQ_U64(parse_str(&pm, map), strlen(map));
	CHECK_STR(name_at(&pm, 0x7f0000001000, &off), "JS:*handler /srv/app.js:12:3");
	CHECK_EQ_U64(off, 0);
	CHECK_STR(name_at(&pm, 0x7f000000103f, &off), "JS:*handler /srv/app.js:12:3");
	CHECK_EQ_U64(off, 0x3f);
	CHECK_STR(name_at(&pm, 0x7f0000001040, &off), "");	/* the end is not in it */
	CHECK_STR(name_at(&pm, 0x7f00000000ff, &off), "Interpreter");
	CHECK_STR(name_at(&pm, 0x7f0000000100, &off), "");
	CHECK_STR(name_at(&pm, 0x7f0000002010, &off), "LFoo;bar(I)V");
	CHECK_EQ_U64(off, 0x10);
	CHECK_STR(name_at(&pm, 0x7f0000003008, &off), "new");	/* the later line wins */
	CHECK_STR(name_at(&pm, 0x6fffffffffff, &off), "");
	CHECK_STR(name_at(&pm, UINT64_MAX, &off), "");
	/* appended after a lookup sorted the table */
	CHECK_EQ_U64(parse_str(&pm, "1000 10 early\n7f0000003000 10 newest\n"), 37);
	CHECK_STR(name_at(&pm, 0x1001, &off), "early");
	CHECK_STR(name_at(&pm, 0x7f0000003000, &off), "newest");
	/* a line being written: not consumed until its newline */
	CHECK_EQ_U64(parse_str(&pm, "2000 10 whole\n3000 10 half"), 14);
	CHECK_STR(name_at(&pm, 0x2000, &off), "whole");
	CHECK_STR(name_at(&pm, 0x3000, &off), "");
	tl_perfmap_free(&pm);
}

/* An older, larger entry holding a newer, smaller one. */
static void nested(void)
{
	struct tl_perfmap pm;
	uint64_t off;

	tl_perfmap_init(&pm);
	parse_str(&pm, "1000 1000 outer\n1100 10 inner\n");
	CHECK_STR(name_at(&pm, 0x1105, &off), "inner");
	CHECK_STR(name_at(&pm, 0x1200, &off), "outer");
	CHECK_EQ_U64(off, 0x200);
	tl_perfmap_free(&pm);
}

static void hostile_lines(void)
{
	static const char *const bad[] = {
		"", "\n", "1000\n", "1000 10\n", "1000 10 \n", "1000  \n", " 1000 10 x\n",
		"10g0 10 x\n", "1000 1z x\n", "-1000 10 x\n", "1000 -10 x\n",
		"10000000000000000 10 x\n",		/* 17 digits */
		"1000 10000000000000000 x\n",
		"ffffffffffffff00 200 wraps\n",		/* start + size overflows */
		"1000 0 empty\n", "0x 10 x\n", "1000,10 x\n",
	};
	struct tl_perfmap pm;
	uint64_t off;
	char buf[64];

	tl_perfmap_init(&pm);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long used = parse_str(&pm, bad[i]);

		CHECK_EQ_U64(used, strchr(bad[i], '\n') ? strlen(bad[i]) : 0);
		if (pm.nsyms)
			fprintf(stderr, "  accepted: %s", bad[i]);
		CHECK_EQ_U64(pm.nsyms, 0);
	}
	CHECK_STR(name_at(&pm, 0x1000, &off), "");
	/* control characters, a NUL and an escape sequence: '?' each */
	CHECK_EQ_U64(tl_perfmap_parse(&pm, "1000 10 a\0b\x1b[2J\x7f\tc\n", 19), 19);
	CHECK_STR(name_at(&pm, 0x1000, &off), "a?b?[2J??c");
	/* largest values */
	snprintf(buf, sizeof(buf), "fffffffffffffff0 f top\n");
	parse_str(&pm, buf);
	CHECK_STR(name_at(&pm, 0xfffffffffffffffe, &off), "top");
	CHECK_STR(name_at(&pm, UINT64_MAX, &off), "");
	tl_perfmap_free(&pm);
}

static void long_name_capped(void)
{
	size_t len = 100000;
	char *line = malloc(len + 16);
	struct tl_perfmap pm;
	uint64_t off;
	const char *n;

	CHECK(line);
	if (!line)
		return;
	memcpy(line, "1000 10 ", 8);
	memset(line + 8, 'x', len);
	strcpy(line + 8 + len, "\n");
	tl_perfmap_init(&pm);
	CHECK_EQ_U64(parse_str(&pm, line), len + 9);
	n = name_at(&pm, 0x1000, &off);
	CHECK_EQ_U64(strlen(n), TL_PERFMAP_MAX_NAME);
	tl_perfmap_free(&pm);
	free(line);
}

/* Random bytes and random mutations of good lines: no crash, every
 * entry found holds the address asked for. */
static void random_input(void)
{
	static const char alphabet[] = "0123456789abcdefxX \t\n\r\0zZ-";
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char buf[512];

	for (int round = 0; round < 2000; round++) {
		struct tl_perfmap pm;
		size_t len = xorshift64(&seed) % sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = round & 1 ? alphabet[xorshift64(&seed) % (sizeof(alphabet) - 1)]
					   : (char)xorshift64(&seed);
		tl_perfmap_init(&pm);
		CHECK(tl_perfmap_parse(&pm, buf, len) >= 0);
		for (int k = 0; k < 32; k++) {
			uint64_t addr = k < 16 ? xorshift64(&seed) : xorshift64(&seed) % 0x10000, off;
			const char *n = tl_perfmap_lookup(&pm, addr, &off);

			if (n) {
				CHECK(off <= addr);
				CHECK(strlen(n) <= TL_PERFMAP_MAX_NAME);
				for (const char *c = n; *c; c++)
					CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
			}
		}
		tl_perfmap_free(&pm);
	}
}

static void too_many_lines(void)
{
	struct tl_perfmap pm;
	char line[64];
	uint64_t off;

	tl_perfmap_init(&pm);
	for (unsigned int i = 0; i < TL_PERFMAP_MAX_LINES + 100; i++) {
		snprintf(line, sizeof(line), "%x 1 f%u\n", 0x1000 + i, i);
		parse_str(&pm, line);
	}
	/* started over: the newest lines are kept */
	CHECK_EQ_U64(pm.nsyms, 100);
	CHECK_STR(name_at(&pm, 0x1000, &off), "");
	snprintf(line, sizeof(line), "f%u", TL_PERFMAP_MAX_LINES + 99);
	CHECK_STR(name_at(&pm, 0x1000 + TL_PERFMAP_MAX_LINES + 99, &off), line);
	tl_perfmap_free(&pm);
}

static char map_path[64];

static void write_map(const char *s, bool append)
{
	int fd = open(map_path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
		      0600);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ_U64(write(fd, s, strlen(s)), strlen(s));
		close(fd);
	}
}

/* This process's own /tmp/perf-PID.map, as a runtime writes it. */
static void live_file(void)
{
	struct tl_perfmap pm;
	char want[32];
	uint64_t off;

	snprintf(map_path, sizeof(map_path), "/tmp/perf-%d.map", getpid());
	snprintf(want, sizeof(want), "perf-%d.map", getpid());
	unlink(map_path);
	tl_perfmap_init(&pm);
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), -ENOENT);
	write_map("1000 10 first\n2000 10 half", false);
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), 0);
	CHECK_STR(pm.file, want);
	CHECK_STR(name_at(&pm, 0x1000, &off), "first");
	CHECK_STR(name_at(&pm, 0x2000, &off), "");
	/* the runtime goes on: the half line is whole now, more follow */
	write_map("_done\n3000 10 third\n", true);
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), 0);
	CHECK_STR(name_at(&pm, 0x2000, &off), "half_done");
	CHECK_STR(name_at(&pm, 0x3000, &off), "third");
	CHECK_STR(name_at(&pm, 0x1000, &off), "first");
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), 0);	/* unchanged */
	CHECK_EQ_U64(pm.nsyms, 3);
	/* replaced (a new file, shorter): read anew */
	unlink(map_path);
	write_map("4000 10 fourth\n", false);
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), 0);
	CHECK_STR(name_at(&pm, 0x1000, &off), "");
	CHECK_STR(name_at(&pm, 0x4000, &off), "fourth");
	/* a link, even to a readable map, or a FIFO: nothing read, no block */
	unlink(map_path);
	CHECK(!symlink("/etc/hosts", map_path));
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), -ENOENT);
	CHECK_STR(name_at(&pm, 0x4000, &off), "");
	unlink(map_path);
	CHECK(!mkfifo(map_path, 0600));
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), -ENOENT);
	unlink(map_path);
	/* another user's file (a hard link to it, say): not read */
	write_map("5000 10 foreign\n", false);
	if (geteuid() == 0 && !chown(map_path, 65534, 65534)) {
		CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), -EPERM);
		CHECK_STR(name_at(&pm, 0x5000, &off), "");
	}
	unlink(map_path);
	CHECK_EQ_U64(tl_perfmap_update(&pm, -1), -ESRCH);
	tl_perfmap_free(&pm);
}

/* Past TL_PERFMAP_MAX_BYTES only the newest part is read. */
static void grown_past_bound(void)
{
	size_t line = 32, n = TL_PERFMAP_MAX_BYTES / line + 1000;
	struct tl_perfmap pm;
	char *buf = malloc(n * line + 1);
	uint64_t off;
	size_t len = 0;

	CHECK(buf);
	if (!buf)
		return;
	for (size_t i = 0; i < n; i++)	/* 32 bytes a line */
		len += (size_t)sprintf(buf + len, "%010zx 1 f%017zu\n", 0x100000 + i, i);
	write_map(buf, false);
	tl_perfmap_init(&pm);
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), 0);
	CHECK_STR(name_at(&pm, 0x100000, &off), "");
	snprintf(buf, 64, "f%017zu", n - 1);
	CHECK_STR(name_at(&pm, 0x100000 + n - 1, &off), buf);
	CHECK(pm.nsyms <= TL_PERFMAP_MAX_LINES);
	/* a few more: read from where it stopped, the bound kept */
	write_map("00000000ff 1 appended\n", true);
	CHECK_EQ_U64(tl_perfmap_update(&pm, getpid()), 0);
	CHECK_STR(name_at(&pm, 0xff, &off), "appended");
	CHECK(pm.parsed - pm.base <= TL_PERFMAP_MAX_BYTES);
	tl_perfmap_free(&pm);
	unlink(map_path);
	free(buf);
}

int main(void)
{
	RUN(well_formed);
	RUN(nested);
	RUN(hostile_lines);
	RUN(long_name_capped);
	RUN(random_input);
	RUN(too_many_lines);
	RUN(live_file);
	RUN(grown_past_bound);
	return UNIT_END();
}
