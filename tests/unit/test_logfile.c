// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Transition logs, intact: exact round trips, header fields, the writer
 * (errors, --max-size EFBIG, file mode, pipes and stdout), bytes per
 * event on churn, stacks and owners.  Damage the reader must survive is
 * in test_logfile_damage.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>
#include "logtest.h"

#define FHDR_LEN_OFF 12		/* where the file header keeps its fields length */

/* ---- synthetic streams ---- */

static const char *comms[] = { "curl", "nginx: worker", "a-very-long-comm", "x" };

/* Everything the format has to carry, at random. */
static void random_event(struct tl_event *e, uint64_t *ts, uint64_t *ids, int nids)
{
	int kind = (int)(rnd() % 100);

	memset(e, 0, sizeof(*e));
	if (kind < 2)
		*ts += rnd();			/* huge jump, even wrapping */
	else if (kind < 10)
		*ts -= rnd() % (5 * SEC);	/* out of order */
	else
		*ts += rnd() % 100000;
	e->ts_ns = *ts;
	e->type = (uint8_t)(1 + rnd() % (TL_EV_TYPE_MAX - 1));
	if (kind == 50)
		e->type = (uint8_t)(rnd() % 256);	/* not a type we know */
	if (e->type == TL_EV_TICK && kind < 90)
		return;
	int s = (int)(rnd() % (unsigned)nids);

	e->sk_id = kind < 95 ? ids[s] : 0;
	e->family = (rnd() & 3) ? AF_INET : AF_INET6;
	if (e->family == AF_INET) {
		set_v4(e->saddr, 0x7f000001);
		set_v4(e->daddr, (rnd() & 1) ? 0x7f000001 : 0x0a000000 + (uint32_t)(s % 7));
	} else {
		e->saddr[15] = 1;
		e->daddr[0] = 0x20;
		e->daddr[1] = 0x01;
		e->daddr[15] = (uint8_t)(s % 5);
	}
	e->sport = (uint16_t)(32768 + s);
	e->dport = (rnd() & 7) ? 8080 : (uint16_t)rnd();
	e->netns = (rnd() & 15) ? NETNS : (uint32_t)rnd();
	e->old_state = (uint8_t)(rnd() % 13);
	e->new_state = (uint8_t)(rnd() % 13);
	if (kind == 51) {
		e->old_state = 15;
		e->new_state = 15;
	} else if (kind == 52) {
		e->old_state = 200;
	}
	e->flags = (uint16_t)(rnd() & 0x7f);
	if (kind == 53)
		e->flags = 0xffff;
	if (kind < 80 || e->type == TL_EV_TW_START || e->type == TL_EV_SEED)
		e->aux = rnd() >> (rnd() % 64);
	/* Task fields are set either way: dropped unless in task. */
	e->pid = 1000 + (uint32_t)(rnd() % 6);
	e->tid = (rnd() & 1) ? e->pid : e->pid + (uint32_t)(rnd() % 3);
	snprintf(e->comm, sizeof(e->comm), "%s", comms[(e->pid + (rnd() % 8 == 0)) % 4]);
	if (kind == 54)
		memset(e->comm, 'z', sizeof(e->comm));	/* no NUL at all */
	if (kind == 55)
		e->comm[14] = 'q';			/* bytes past the NUL */
	e->drop_seq = (uint16_t)rnd();
}

static struct tl_event *random_stream(size_t n)
{
	struct tl_event *evs = malloc(n * sizeof(*evs));
	uint64_t ids[300], ts = 1000 * SEC;

	for (int i = 0; i < 300; i++)
		ids[i] = rnd() | 1;
	for (size_t i = 0; i < n; i++)
		random_event(&evs[i], &ts, ids, 300);
	return evs;
}

/* ---- round trips ---- */

static void roundtrip(const struct tl_event *evs, size_t n, size_t flush_every)
{
	const char *path = tmp_path("rt.tlog");
	struct tl_event *want = expect_all(evs, n);
	struct readout o;
	char err[256];

	CHECK_EQ_U64(write_log(path, evs, n, flush_every, 0, NULL, NULL), 0);
	CHECK_EQ_U64(read_log(path, NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.n, n);
	CHECK_EQ_U64(o.end, 0);
	CHECK_EQ_U64(o.w.n, 0);
	if (o.n == n)
		CHECK_EQ_U64(same_events(o.evs, want, n), n);
	free(o.evs);
	free(want);
	unlink(path);
}

static void roundtrip_random_many_blocks(void)
{
	size_t n = 200000;
	struct tl_event *evs = random_stream(n);

	roundtrip(evs, n, 0);
	/* Tiny blocks: every dictionary restarts all the time. */
	roundtrip(evs, 5000, 7);
	free(evs);
}

static void roundtrip_each_type(void)
{
	struct tl_event evs[64];
	size_t n = 0;
	uint64_t t = 100 * SEC;

	for (int type = 0; type <= 255; type += type < 12 ? 1 : 61) {
		struct tl_event e = ev_state(t += 1000, 0x1234 + (uint64_t)type, 1, 2, 40000, 80);

		e.type = (uint8_t)type;
		if (type % 2)
			in_task(&e, 1, 1, "init");
		e.aux = (uint64_t)type * 1000;
		evs[n++] = e;
	}
	/* IPv6 literal, then by dictionary. */
	for (int i = 0; i < 3; i++) {
		struct tl_event e = ev_state(t += 1, 99, 1, 4, 443, 50000);

		e.family = AF_INET6;
		memset(e.saddr, 0xfe, 16);
		memset(e.daddr, 0x20, 16);
		evs[n++] = e;
	}
	evs[n++] = (struct tl_event){ .ts_ns = t + 5, .type = TL_EV_TICK };
	evs[n++] = (struct tl_event){ .ts_ns = t + 6, .type = TL_EV_LOST, .aux = 12345 };
	/* A tick carrying fields it should not have still comes back whole. */
	evs[n] = ev_state(t + 7, 5, 1, 2, 3, 4);
	evs[n++].type = TL_EV_TICK;
	/* Extremes. */
	evs[n++] = (struct tl_event){ .ts_ns = UINT64_MAX, .type = TL_EV_TICK };
	evs[n++] = (struct tl_event){ .ts_ns = 0, .type = TL_EV_TICK, .aux = UINT64_MAX };
	evs[n] = ev_state(1, UINT64_MAX, 255, 255, 65535, 65535);
	evs[n].netns = UINT32_MAX;
	evs[n].flags = 0xffff;
	in_task(&evs[n], UINT32_MAX, 0, "");
	memset(evs[n].comm, 0xff, 16);
	n++;
	/* sk_id 0 with a tuple, and the same sk_id with a new tuple. */
	evs[n++] = ev_state(2, 0, 1, 2, 1, 2);
	evs[n++] = ev_state(3, 99, 4, 5, 1, 2);
	roundtrip(evs, n, 0);
	roundtrip(evs, n, 1);
}

static void roundtrip_churn(void)
{
	size_t n;
	struct tl_event *evs = churn_stream(30000, 1 * SEC, &n);

	roundtrip(evs, n, 0);
	free(evs);
}

static void empty_log(void)
{
	struct readout o;
	char err[256];

	CHECK_EQ_U64(write_log(tmp_path("empty.tlog"), NULL, 0, 0, 0, NULL, NULL), 0);
	CHECK_EQ_U64(read_log(tmp_path("empty.tlog"), NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.n, 0);
	CHECK_EQ_U64(o.end, 0);
	CHECK_EQ_U64(o.w.n, 0);
	free(o.evs);
	unlink(tmp_path("empty.tlog"));
}

static void header_roundtrip(void)
{
	struct tl_log_header h = { .boot_to_real_ns = -42, .created_real_ns = UINT64_MAX };
	struct tl_log_writer *w;
	struct readout o;
	char err[256];

	memset(h.hostname, 'h', sizeof(h.hostname));	/* no NUL: cut at 255 */
	snprintf(h.kernel, sizeof(h.kernel), "6.1.0-18-amd64");
	snprintf(h.options, sizeof(h.options), "record -w /tmp/x --port 80 \"quoted\"");
	CHECK_EQ_U64(tl_logw_open(&w, tmp_path("h.tlog"), &h, 0, err, sizeof(err)), 0);
	CHECK_EQ_U64(tl_logw_close(w), 0);
	CHECK_EQ_U64(read_log(tmp_path("h.tlog"), NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.h.version, TL_LOG_VERSION);
	CHECK_EQ_U64(strlen(o.h.hostname), sizeof(h.hostname) - 1);
	CHECK(!memcmp(o.h.hostname, h.hostname, sizeof(h.hostname) - 1));
	CHECK_STR(o.h.kernel, h.kernel);
	CHECK_STR(o.h.options, h.options);
	CHECK_EQ_U64(o.h.boot_to_real_ns, -42);
	CHECK_EQ_U64(o.h.created_real_ns, UINT64_MAX);
	free(o.evs);
	unlink(tmp_path("h.tlog"));
}

/* An offset no clock has (a crafted header) is refused with one line; the
 * text output would otherwise overflow adding it to event times. */
static void header_clock_offset_range(void)
{
	static const int64_t offs[] = { INT64_MAX, INT64_MIN, TL_BOOT_TO_REAL_MAX + 1,
					-TL_BOOT_TO_REAL_MAX - 1, TL_BOOT_TO_REAL_MAX,
					-TL_BOOT_TO_REAL_MAX };
	const char *path = tmp_path("clk.tlog");

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct tl_log_header h = { .boot_to_real_ns = offs[i] }, got;
		struct tl_log_writer *w;
		struct tl_log_reader *r;
		char err[256], want[256];
		bool bad = i < 4;
		int ret;

		CHECK_EQ_U64(tl_logw_open(&w, path, &h, 0, err, sizeof(err)), 0);
		CHECK_EQ_U64(tl_logw_close(w), 0);
		err[0] = '\0';
		ret = tl_logr_open(&r, path, &got, NULL, NULL, err, sizeof(err));
		CHECK_EQ_U64(ret, bad ? -EBADMSG : 0);
		if (bad) {
			snprintf(want, sizeof(want), "%s: corrupt log header: clock offset %lld ns "
				 "is out of range", path, (long long)offs[i]);
			CHECK_STR(err, want);
			CHECK(r == NULL);
		} else {
			CHECK_EQ_U64(got.boot_to_real_ns, offs[i]);
			tl_logr_close(r);
		}
		unlink(path);
	}
}

/* A header field from a later version is skipped. */
static void header_unknown_field(void)
{
	size_t len, flen;
	uint8_t *d, *n;
	struct readout o;
	char err[256];

	write_log(tmp_path("u.tlog"), NULL, 0, 0, 0, NULL, NULL);
	d = slurp(tmp_path("u.tlog"), &len);
	flen = d[FHDR_LEN_OFF] | (size_t)d[FHDR_LEN_OFF + 1] << 8;
	n = malloc(len + 7);
	memcpy(n, d, 16);
	memcpy(n + 16, "\x63\x00\x03\x00xyz", 7);	/* tag 99, 3 bytes */
	memcpy(n + 23, d + 16, flen);
	n[FHDR_LEN_OFF] = (uint8_t)(flen + 7);
	n[FHDR_LEN_OFF + 1] = (uint8_t)((flen + 7) >> 8);
	uint32_t crc = (uint32_t)crc32(0, n, (uInt)(16 + flen + 7));

	for (int i = 0; i < 4; i++)
		n[23 + flen + i] = (uint8_t)(crc >> (8 * i));
	CHECK_EQ_U64(read_log(NULL, n, len + 7, &o, err, sizeof(err)), 0);
	CHECK_STR(o.h.hostname, "box");
	CHECK_STR(o.h.options, "record -w x");
	CHECK_EQ_U64(o.h.created_real_ns, 1700000100 * SEC);
	free(o.evs);
	free(d);
	free(n);
	unlink(tmp_path("u.tlog"));
}

/* ---- writer ---- */

/* "-" writes to stdout. */
static void write_to_stdout(void)
{
	const char *path = tmp_path("stdout.tlog");
	struct tl_event e = ev_state(5, 9, 1, 4, 1000, 2000);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(1);
	struct readout o;
	char err[256];

	fflush(stdout);
	dup2(fd, 1);
	close(fd);
	CHECK_EQ_U64(write_log("-", &e, 1, 0, 0, NULL, NULL), 0);
	dup2(saved, 1);
	close(saved);
	CHECK_EQ_U64(read_log(path, NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.n, 1);
	CHECK_EQ_U64(o.evs[0].sport, 1000);
	free(o.evs);
	unlink(path);
}

static void max_size_efbig(void)
{
	const char *path = tmp_path("cap.tlog");
	size_t n;
	struct tl_event *evs = churn_stream(3000, 20 * MS, &n);
	struct tl_event *want = expect_all(evs, n);
	struct tl_log_writer *w;
	struct readout o;
	char err[256];
	uint64_t written = 0, wbytes = 0;
	size_t i;
	int ret = 0;
	struct stat st;

	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 4000, err, sizeof(err)), 0);
	for (i = 0; i < n && !ret; i++) {
		ret = tl_logw_add(w, &evs[i]);
		if (!ret && i % 50 == 49)
			ret = tl_logw_flush(w);
	}
	CHECK_EQ_U64(ret, -EFBIG);
	CHECK_EQ_U64(tl_logw_add(w, &evs[0]), -EFBIG);
	CHECK_EQ_U64(tl_logw_flush(w), -EFBIG);
	written = tl_logw_events(w);
	wbytes = tl_logw_bytes(w);
	CHECK(written > 0 && written < n);
	CHECK(wbytes <= 4000);
	CHECK_EQ_U64(tl_logw_close(w), -EFBIG);
	CHECK(!stat(path, &st));
	CHECK_EQ_U64(st.st_size, wbytes);
	CHECK_EQ_U64(read_log(path, NULL, 0, &o, err, sizeof(err)), 0);
	CHECK_EQ_U64(o.w.n, 0);
	CHECK_EQ_U64(o.n, written);
	CHECK_EQ_U64(same_events(o.evs, want, o.n), written);
	free(o.evs);
	/* A cap below the header itself. */
	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 10, err, sizeof(err)), -EFBIG);
	free(evs);
	free(want);
	unlink(path);
}

static void write_errors_surface(void)
{
	struct tl_event e = ev_state(1, 1, 1, 2, 3, 4);
	struct tl_log_writer *w;
	char err[256];
	int fds[2], saved;

	/* Devices are refused (-w writes regular files or stdout only). */
	CHECK_EQ_U64(tl_logw_open(&w, "/dev/full", &test_hdr, 0, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "/dev/full is a character device: -w writes regular files only "
		  "(or - for stdout)");
	CHECK_EQ_U64(tl_logw_open(&w, "/nonexistent/dir/x.tlog", &test_hdr, 0, err, sizeof(err)),
		     -ENOENT);
	/* A reader of stdout that goes away: EPIPE from then on. */
	signal(SIGPIPE, SIG_IGN);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	CHECK(!pipe(fds));
	CHECK(dup2(fds[1], STDOUT_FILENO) == STDOUT_FILENO);
	close(fds[1]);
	CHECK_EQ_U64(tl_logw_open(&w, "-", &test_hdr, 0, err, sizeof(err)), 0);
	close(fds[0]);
	CHECK_EQ_U64(tl_logw_add(w, &e), 0);
	CHECK_EQ_U64(tl_logw_flush(w), -EPIPE);
	CHECK_EQ_U64(tl_logw_add(w, &e), -EPIPE);
	CHECK_EQ_U64(tl_logw_flush(w), -EPIPE);
	CHECK_EQ_U64(tl_logw_events(w), 0);
	CHECK_EQ_U64(tl_logw_close(w), -EPIPE);
	CHECK(dup2(saved, STDOUT_FILENO) == STDOUT_FILENO);
	close(saved);
	signal(SIGPIPE, SIG_DFL);
}

static void file_mode_0600(void)
{
	const char *path = tmp_path("mode.tlog");
	struct tl_log_writer *w;
	struct stat st;
	char err[256];
	mode_t old = umask(0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 0, err, sizeof(err)), 0);
	CHECK_EQ_U64(tl_logw_close(w), 0);
	CHECK(!stat(path, &st));
	CHECK_EQ_U64(st.st_mode & 07777, 0600);
	unlink(path);
	CHECK_EQ_U64(tl_logw_open(&w, path, &test_hdr, 0, err, sizeof(err)), 0);
	CHECK_EQ_U64(tl_logw_close(w), 0);
	CHECK(!stat(path, &st));
	CHECK_EQ_U64(st.st_mode & 07777, 0600);
	umask(old);
	unlink(path);
}

/* What an unprivileged user can plant at a -w path: nothing is followed,
 * opened or changed, and the FIFO's open does not wait for a reader. */
static void unsafe_paths_refused(void)
{
	const char *target = tmp_path("target"), *slink = tmp_path("link.tlog");
	const char *fifo = tmp_path("fifo.tlog"), *hard = tmp_path("hard.tlog");
	const char *dangling = tmp_path("dangling.tlog");
	struct tl_log_writer *w;
	struct stat st;
	char err[256], want[512];
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0 && write(fd, "keep", 4) == 4);
	close(fd);
	CHECK(!symlink(target, slink));
	CHECK(!symlink(tmp_path("nowhere"), dangling));
	CHECK(!mkfifo(fifo, 0644));
	CHECK(!link(target, hard));

	CHECK_EQ_U64(tl_logw_open(&w, slink, &test_hdr, 0, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s is a symbolic link: not followed, give the real path",
		 slink);
	CHECK_STR(err, want);
	CHECK_EQ_U64(tl_logw_open(&w, dangling, &test_hdr, 0, err, sizeof(err)), -EINVAL);
	CHECK(access(tmp_path("nowhere"), F_OK) && errno == ENOENT);
	CHECK_EQ_U64(tl_logw_open(&w, fifo, &test_hdr, 0, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s is a FIFO: -w writes regular files only "
		 "(or - for stdout)", fifo);
	CHECK_STR(err, want);
	CHECK_EQ_U64(tl_logw_open(&w, tmpdir, &test_hdr, 0, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, " is a directory: ") != NULL);
	CHECK_EQ_U64(tl_logw_open(&w, hard, &test_hdr, 0, err, sizeof(err)), -EMLINK);
	snprintf(want, sizeof(want), "%s has other hard links: not overwritten, remove it first",
		 hard);
	CHECK_STR(err, want);
	/* The target is untouched: content and mode. */
	CHECK(!stat(target, &st));
	CHECK_EQ_U64(st.st_size, 4);
	CHECK_EQ_U64(st.st_mode & 07777, 0644);
	CHECK(!lstat(fifo, &st) && S_ISFIFO(st.st_mode));
	unlink(hard);
	/* A plain existing file is still overwritten. */
	CHECK_EQ_U64(tl_logw_open(&w, target, &test_hdr, 0, err, sizeof(err)), 0);
	CHECK_EQ_U64(tl_logw_close(w), 0);
	CHECK(!stat(target, &st));
	CHECK(st.st_size > 4);
	CHECK_EQ_U64(st.st_mode & 07777, 0600);
	unlink(slink);
	unlink(dangling);
	unlink(fifo);
	unlink(target);
}

/* ---- size and speed ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void churn_bytes_per_event(void)
{
	const char *path = tmp_path("churn.tlog");
	size_t n, got = 0;
	/* 2 s of churn; tw socks expire after 1 s, in the same stream. */
	struct tl_event *evs = churn_stream(56000, 1 * SEC, &n);
	struct tl_log_reader *r;
	struct tl_event ev;
	struct stat st;
	char err[256];
	double t, per, dt;

	t = now_s();
	CHECK_EQ_U64(write_log(path, evs, n, 0, 0, NULL, NULL), 0);
	dt = now_s() - t;
	CHECK(!stat(path, &st));
	per = (double)st.st_size / (double)n;
	printf("# churn: %zu events, %lld bytes, %.2f bytes/event, encode %.0f ns/event\n",
	       n, (long long)st.st_size, per, dt * 1e9 / (double)n);
	CHECK(per <= 8.0);
	t = now_s();
	CHECK_EQ_U64(tl_logr_open(&r, path, NULL, NULL, NULL, err, sizeof(err)), 0);
	while (tl_logr_next(r, &ev) > 0)
		got++;
	tl_logr_close(r);
	dt = now_s() - t;
	printf("# churn: decode %.0f ns/event (%.1f M events/s)\n", dt * 1e9 / (double)n,
	       (double)n / dt / 1e6);
	CHECK_EQ_U64(got, n);
	free(evs);
	unlink(path);
}

/* ---- stacks and owners ---- */

/* Leak-hunting events: owners, holders, scans, and stacks with their
 * bytes, which must come back whole, block boundaries or not. */
static void stacks_and_owners(void)
{
	const char *path = tmp_path("stacks.tlog");
	struct tl_log_header h = { .version = TL_LOG_VERSION };
	struct tl_log_writer *w;
	struct tl_log_reader *r;
	struct tl_event in[6], out, *want;
	static char big[TL_LOG_BLOB_MAX];
	const char small[] = "prog\0main+0x1 (m.c:3)";
	char err[256];
	int i, n = 0;

	memset(in, 0, sizeof(in));
	memset(big, 'f', sizeof(big));
	for (i = 0; i < (int)sizeof(big); i += 64)
		big[i + 63] = '\0';
	in[0] = ev_state(1000, 7, TL_TCP_CLOSE, TL_TCP_SYN_SENT, 0, 80);
	in[1] = (struct tl_event){ .type = TL_EV_STACK, .ts_ns = 1001, .aux = 1, .pid = 42,
				   .tid = 43, .flags = TL_F_IN_TASK, .comm = "prog" };
	in[2] = ev_state(1002, 7, 0, TL_TCP_SYN_SENT, 40000, 80);
	in[2].type = TL_EV_OWNER;
	in[2].old_state = TL_OWN_CONNECT;
	in[2].flags = TL_F_IN_TASK;
	in[2].pid = 42;
	in[2].tid = 43;
	memcpy(in[2].comm, "prog", 5);
	in[2].aux = TL_OWN_AUX(1, 5);
	in[3] = (struct tl_event){ .type = TL_EV_SCAN, .ts_ns = 2000 };
	in[4] = in[1];
	in[4].aux = 2;
	in[4].ts_ns = 2001;
	in[5] = in[2];
	in[5].type = TL_EV_HOLDER;
	in[5].old_state = 0;
	in[5].ts_ns = 2000;
	in[5].aux = 5;

	CHECK(tl_logw_open(&w, path, &h, 0, err, sizeof(err)) == 0);
	CHECK(tl_logw_add(w, &in[0]) == 0);
	CHECK(tl_logw_add_blob(w, &in[1], small, sizeof(small)) == 0);
	CHECK(tl_logw_add(w, &in[2]) == 0);
	CHECK(tl_logw_flush(w) == 0);
	CHECK(tl_logw_add(w, &in[3]) == 0);
	CHECK(tl_logw_add_blob(w, &in[4], big, sizeof(big)) == 0);
	CHECK(tl_logw_add_blob(w, &in[4], big, sizeof(big) + 1) == -EINVAL);
	CHECK(tl_logw_add(w, &in[5]) == 0);
	CHECK(tl_logw_close(w) == 0);

	want = expect_all(in, 6);
	CHECK(tl_logr_open(&r, path, NULL, NULL, NULL, err, sizeof(err)) == 0);
	while (tl_logr_next(r, &out) > 0 && n < 6) {
		size_t len;
		const char *blob = tl_logr_blob(r, &len);

		CHECK(!memcmp(&out, &want[n], sizeof(out)));
		if (n == 1) {
			CHECK_EQ_U64(len, sizeof(small));
			CHECK(blob && !memcmp(blob, small, sizeof(small)));
		} else if (n == 4) {
			CHECK_EQ_U64(len, sizeof(big));
			CHECK(blob && !memcmp(blob, big, sizeof(big)));
		} else {
			CHECK(blob == NULL && len == 0);
		}
		n++;
	}
	CHECK_EQ_U64(n, 6);
	tl_logr_close(r);
	free(want);
	unlink(path);
}

int main(void)
{
	if (tmpdir_create())
		return 1;
	RUN(roundtrip_each_type);
	RUN(roundtrip_random_many_blocks);
	RUN(roundtrip_churn);
	RUN(empty_log);
	RUN(header_roundtrip);
	RUN(header_unknown_field);
	RUN(header_clock_offset_range);
	RUN(stacks_and_owners);
	RUN(write_to_stdout);
	RUN(max_size_efbig);
	RUN(write_errors_surface);
	RUN(file_mode_0600);
	RUN(unsafe_paths_refused);
	RUN(churn_bytes_per_event);
	tmpdir_remove();
	return UNIT_END();
}
