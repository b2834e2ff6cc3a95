/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* JIT code's names from a runtime's perf map; see perfmap.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "grow.h"
#include "perfmap.h"
#include "symelf.h"

#define READ_CHUNK	(64u << 10)	/* a longer line is skipped */

void tl_perfmap_init(struct tl_perfmap *pm)
{
	memset(pm, 0, sizeof(*pm));
}

void tl_perfmap_free(struct tl_perfmap *pm)
{
	free(pm->syms);
	free(pm->names);
	tl_perfmap_init(pm);
}

/* Empties the table, keeping its memory; the file is read anew. */
static void clear(struct tl_perfmap *pm)
{
	pm->nsyms = pm->sorted = pm->names_len = 0;
	pm->base = pm->parsed = 0;
	pm->next_seq = 0;
	pm->mid_line = false;
}

/* A hex number of at most 16 digits ("0x" tolerated) ending at a blank. */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s < end && *s != ' ' && *s != '\t'; s++, digits++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (digits == 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits)
		return false;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*p = s;
	*out = v;
	return true;
}

/* One line without its newline: false only when out of memory. */
static bool add_line(struct tl_perfmap *pm, const char *s, const char *end)
{
	struct tl_perfmap_sym *sym;
	uint64_t start, size;
	size_t len;
	char *name;

	if (end > s && end[-1] == '\r')
		end--;
	if (!parse_hex(&s, end, &start) || !parse_hex(&s, end, &size) || s == end ||
	    !size || start + size < start)
		return true;
	/* Full: start over from here, as the newest code matters most. */
	if (pm->nsyms >= TL_PERFMAP_MAX_LINES)
		pm->nsyms = pm->sorted = pm->names_len = 0;
	len = (size_t)(end - s);
	if (len > TL_PERFMAP_MAX_NAME)
		len = TL_PERFMAP_MAX_NAME;
	if (pm->names_len + len + 1 > UINT32_MAX ||
	    !tl_grow_to(&pm->names, &pm->names_cap, pm->names_len + len + 1, 1, 64) ||
	    !tl_grow(&pm->syms, &pm->cap, pm->nsyms, sizeof(*pm->syms), 64))
		return false;
	name = pm->names + pm->names_len;
	for (size_t i = 0; i < len; i++)
		name[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	name[len] = 0;
	sym = &pm->syms[pm->nsyms++];
	sym->start = start;
	sym->size = size;
	sym->name = (uint32_t)pm->names_len;
	sym->seq = pm->next_seq++;
	pm->names_len += len + 1;
	return true;
}

long tl_perfmap_parse(struct tl_perfmap *pm, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		if (!add_line(pm, p, nl))
			return -ENOMEM;
		p = nl + 1;
	}
	return (long)(p - buf);
}

/* Reads [pm->parsed, size) of fd, whole lines only. */
static int read_lines(struct tl_perfmap *pm, int fd, uint64_t size)
{
	uint64_t pos = pm->parsed;
	size_t have = 0;
	char *buf;
	int err = 0;

	buf = malloc(READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	while (pos < size) {
		size_t want = READ_CHUNK - have, from = 0;
		ssize_t n;
		long used;

		if (want > size - pos)
			want = (size_t)(size - pos);
		n = pread(fd, buf + have, want, (off_t)pos);
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		pos += (uint64_t)n;
		have += (size_t)n;
		if (pm->mid_line) {
			char *nl = memchr(buf, '\n', have);

			if (!nl) {
				have = 0;
				continue;
			}
			from = (size_t)(nl - buf) + 1;
			pm->mid_line = false;
		}
		used = tl_perfmap_parse(pm, buf + from, have - from);
		if (used < 0) {
			err = (int)used;
			break;
		}
		from += (size_t)used;
		memmove(buf, buf + from, have - from);
		have -= from;
		if (have == READ_CHUNK) {	/* a line too long: skipped */
			pm->mid_line = true;
			have = 0;
		}
	}
	/* A line still being written is read again next time. */
	pm->parsed = pos - have;
	free(buf);
	return err;
}

/* From /proc/PID/status: the pid in the process's own namespace (NSpid's
 * last field) and its real and effective uids. */
static int read_status(int pid, int *nspid, uid_t uids[2])
{
	char path[64], line[256];
	bool have_uid = false;
	FILE *f;

	*nspid = pid;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned int r, e;
		char *last;

		if (!strncmp(line, "Uid:", 4) && sscanf(line + 4, "%u %u", &r, &e) == 2) {
			uids[0] = (uid_t)r;
			uids[1] = (uid_t)e;
			have_uid = true;
		} else if (!strncmp(line, "NSpid:", 6)) {
			last = strrchr(line, '\t');
			if (last && atoi(last + 1) > 0)
				*nspid = atoi(last + 1);
		}
	}
	fclose(f);
	return have_uid ? 0 : -EIO;
}

/* The perf map file of pid, opened as symelf.h opens files, owned by the
 * process's real or effective user (a hard link to a file of another user,
 * root's included, is not read). */
static int open_map(struct tl_perfmap *pm, int pid, struct stat *st)
{
	char path[64];
	int rootfd, fd, nspid, err;
	uid_t uids[2] = { 0, 0 };

	err = read_status(pid, &nspid, uids);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	snprintf(pm->file, sizeof(pm->file), "perf-%d.map", nspid);
	snprintf(path, sizeof(path), "tmp/%s", pm->file);
	fd = tl_symelf_open(rootfd, path, true, st);
	close(rootfd);
	if (fd < 0)
		return -ENOENT;
	if (st->st_uid != uids[0] && st->st_uid != uids[1]) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int tl_perfmap_update(struct tl_perfmap *pm, int pid)
{
	struct stat st;
	uint64_t size;
	int fd, err;

	fd = open_map(pm, pid, &st);
	if (fd < 0) {
		clear(pm);
		return fd;
	}
	size = (uint64_t)st.st_size;
	if (st.st_dev != pm->dev || st.st_ino != pm->ino || size < pm->parsed) {
		clear(pm);
		pm->dev = st.st_dev;
		pm->ino = st.st_ino;
	}
	/* Grown past the bound: its last part only, the newest code. */
	if (size - pm->base > TL_PERFMAP_MAX_BYTES) {
		clear(pm);
		pm->base = pm->parsed = size - TL_PERFMAP_MAX_BYTES;
		pm->mid_line = true;
	}
	err = size > pm->parsed ? read_lines(pm, fd, size) : 0;
	close(fd);
	return err;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct tl_perfmap_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorted by start, one entry per start: the latest line's. */
static void sort_syms(struct tl_perfmap *pm)
{
	size_t out = 0;

	qsort(pm->syms, pm->nsyms, sizeof(*pm->syms), sym_cmp);
	for (size_t i = 0; i < pm->nsyms; i++) {
		if (out && pm->syms[out - 1].start == pm->syms[i].start)
			out--;
		pm->syms[out++] = pm->syms[i];
	}
	pm->nsyms = pm->sorted = out;
}

/* Entries before the nearest start that may still hold addr. */
#define LOOK_BACK 8

const char *tl_perfmap_lookup(struct tl_perfmap *pm, uint64_t addr, uint64_t *off)
{
	const struct tl_perfmap_sym *best = NULL;
	size_t lo = 0, hi;

	if (pm->sorted != pm->nsyms)
		sort_syms(pm);
	hi = pm->nsyms;
	while (lo < hi) {		/* the first entry starting after addr */
		size_t mid = lo + (hi - lo) / 2;

		if (pm->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* An older, larger entry may hold addr too: the latest line wins. */
	for (size_t i = lo; i > 0 && lo - i < LOOK_BACK; i--) {
		const struct tl_perfmap_sym *s = &pm->syms[i - 1];

		if (addr - s->start < s->size && (!best || s->seq > best->seq))
			best = s;
	}
	if (!best)
		return NULL;
	*off = addr - best->start;
	return pm->names + best->name;
}
