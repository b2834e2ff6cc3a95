// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Transition and lifecycle writers: the JSON contract and the text table. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <strings.h>
#include <time.h>
#include "unit.h"
#include "leaks.h"
#include "output.h"
#include "stacks.h"
#include "threads.h"

#define MS UINT64_C(1000000)
#define TL_LOG_BLOB_TEST 8192	/* the log's blob limit */
#define SEC UINT64_C(1000000000)
/* Boot + 5 s is 2024-01-01 12:34:56.789 UTC. */
#define BOOT_TO_REAL (INT64_C(1704112496789000000) - INT64_C(5000000000))

struct cap {
	char *buf;
	size_t len;
	FILE *f;
	struct tl_output out;
};

static void cap_open(struct cap *c, enum tl_format fmt, bool wide)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	tl_output_init(&c->out, c->f, fmt, wide);
	c->out.boot_to_real_ns = BOOT_TO_REAL;
}

/* Returns the text written; free() it. */
static char *cap_close(struct cap *c)
{
	fclose(c->f);
	return c->buf;
}

/* What one transition, lifecycle or leak report prints, each to a fresh
 * output (a text table starts with its header); free() it. */
static char *transition_out(const struct tl_transition *t, enum tl_format fmt, bool wide)
{
	struct cap c;

	cap_open(&c, fmt, wide);
	tl_output_transition(&c.out, t);
	return cap_close(&c);
}

static char *lifecycle_out(const struct tl_lifecycle *lc, enum tl_format fmt)
{
	struct cap c;

	cap_open(&c, fmt, false);
	tl_output_lifecycle(&c.out, lc);
	return cap_close(&c);
}

static char *leaks_threads_out(const struct tl_leaks *L, const struct tl_stacks *st,
			       const struct tl_threads *T, enum tl_format fmt)
{
	struct cap c;

	cap_open(&c, fmt, false);
	tl_output_leaks(&c.out, L, st, T, 5 * SEC, true);
	return cap_close(&c);
}

static char *leaks_out(const struct tl_leaks *L, const struct tl_stacks *st,
		       enum tl_format fmt)
{
	return leaks_threads_out(L, st, NULL, fmt);
}

static void tuple4(struct tl_tuple *t, const char *s, uint16_t sport,
		   const char *d, uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->family = AF_INET;
	inet_pton(AF_INET, s, t->saddr);
	inet_pton(AF_INET, d, t->daddr);
	t->sport = sport;
	t->dport = dport;
	t->netns = 4026531840u;
}

/* The tuple moved to IPv6, its ports kept. */
static void tuple6(struct tl_tuple *t, const char *s, const char *d)
{
	t->family = AF_INET6;
	inet_pton(AF_INET6, s, t->saddr);
	inet_pton(AF_INET6, d, t->daddr);
}

static struct tl_transition mk_transition(void)
{
	struct tl_transition t;

	memset(&t, 0, sizeof(t));
	t.ts_ns = 5 * SEC;
	t.conn = 7;
	tuple4(&t.tuple, "127.0.0.1", 40000, "10.0.0.2", 8080);
	t.owner.pid = 4242;
	strcpy(t.owner.comm, "curl");
	t.old_state = TL_TCP_FIN_WAIT2;
	t.new_state = TL_TCP_TIME_WAIT;
	t.in_old_ns = 1234567;
	return t;
}

/* Active close through TIME_WAIT, never in CLOSE_WAIT. */
static struct tl_lifecycle mk_lifecycle(void)
{
	static const struct tl_state_span path[] = {
		{ TL_TCP_SYN_SENT, 1500000 }, { TL_TCP_ESTABLISHED, 2 * SEC },
		{ TL_TCP_FIN_WAIT1, 300000 }, { TL_TCP_FIN_WAIT2, 4 * MS },
		{ TL_TCP_TIME_WAIT, 60 * SEC }, { TL_STATE_CLOSED, 0 },
	};
	struct tl_lifecycle lc;

	memset(&lc, 0, sizeof(lc));
	lc.conn = 12;
	tuple4(&lc.tuple, "192.168.1.10", 51234, "93.184.216.34", 443);
	lc.owner.pid = 999;
	strcpy(lc.owner.comm, "wget");
	lc.start_ns = 3 * SEC;
	lc.end_ns = 3 * SEC + 1500000 + 2 * SEC + 300000 + 4 * MS + 60 * SEC;
	memcpy(lc.states, path, sizeof(path));
	lc.nstates = 6;
	lc.fin_wait2_ns = 4 * MS;
	lc.time_wait_ns = 60 * SEC;
	lc.end = TL_END_TW_EXPIRED;
	lc.complete = true;
	lc.start_exact = true;
	return lc;
}

static void test_json_transition(void)
{
	struct tl_transition t = mk_transition();
	char *got;

	got = transition_out(&t, TL_FMT_JSON, false);
	CHECK_STR(got, "{\"type\":\"transition\",\"ts_ns\":5000000000,"
		  "\"ts\":\"2024-01-01T12:34:56.789000Z\",\"conn\":7,"
		  "\"family\":\"IPv4\",\"saddr\":\"127.0.0.1\",\"sport\":40000,"
		  "\"daddr\":\"10.0.0.2\",\"dport\":8080,\"netns\":4026531840,"
		  "\"old\":\"FIN_WAIT2\",\"new\":\"TIME_WAIT\",\"in_old_ns\":1234567,"
		  "\"pid\":4242,\"comm\":\"curl\"}\n");
	free(got);
}

/* One row per lifecycle under a header whose names differ in more than
 * case, the wall-clock times last. */
static void test_csv_lifecycle(void)
{
	struct tl_lifecycle lc = mk_lifecycle();
	char *got = lifecycle_out(&lc, TL_FMT_CSV), *nl, *save = NULL;
	static const char head[] = "conn,family,saddr,sport,daddr,dport,netns,pid,comm,"
		"start_ns,end_ns,duration_ns,fin_wait2_ns,close_wait_ns,time_wait_ns,end,complete,"
		"seeded,start_exact,gap,evicted,path,in_SYN_SENT_ns,";
	char *names[64];
	int n = 0;

	nl = got ? strchr(got, '\n') : NULL;
	CHECK(nl != NULL);
	if (!nl) {
		free(got);
		return;
	}
	CHECK_STR(nl + 1, "12,IPv4,192.168.1.10,51234,93.184.216.34,443,4026531840,999,wget,"
		  "3000000000,65005800000,62005800000,4000000,0,60000000000,tw_expired,true,"
		  "false,true,false,false,SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT>"
		  "CLOSED,1500000,0,2000000000,300000,4000000,0,60000000000,0,0,0,"
		  "2024-01-01T12:34:54.789000Z,2024-01-01T12:35:56.794800Z\n");
	*nl = '\0';
	CHECK(!strncmp(got, head, strlen(head)));	/* the columns scripts count */
	for (char *tok = strtok_r(got, ",", &save); tok && n < 64; tok = strtok_r(NULL, ",", &save))
		names[n++] = tok;
	CHECK_EQ_U64(n, 34);
	CHECK_STR(names[n - 2], "start_ts");
	CHECK_STR(names[n - 1], "end_ts");
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (!strcasecmp(names[i], names[j])) {
				fprintf(stderr, "  CSV columns %s and %s\n", names[i], names[j]);
				unit_failures++;
			}
	free(got);
}

static void test_json_lifecycle(void)
{
	struct tl_lifecycle lc = mk_lifecycle();
	char *got;

	got = lifecycle_out(&lc, TL_FMT_JSON);
	CHECK_STR(got, "{\"type\":\"lifecycle\",\"conn\":12,\"family\":\"IPv4\","
		  "\"saddr\":\"192.168.1.10\",\"sport\":51234,\"daddr\":\"93.184.216.34\","
		  "\"dport\":443,\"netns\":4026531840,\"pid\":999,\"comm\":\"wget\","
		  "\"start_ns\":3000000000,\"start_ts\":\"2024-01-01T12:34:54.789000Z\","
		  "\"end_ns\":65005800000,\"end_ts\":\"2024-01-01T12:35:56.794800Z\","
		  "\"duration_ns\":62005800000,"
		  "\"states\":[{\"state\":\"SYN_SENT\",\"ns\":1500000},"
		  "{\"state\":\"ESTABLISHED\",\"ns\":2000000000},"
		  "{\"state\":\"FIN_WAIT1\",\"ns\":300000},"
		  "{\"state\":\"FIN_WAIT2\",\"ns\":4000000},"
		  "{\"state\":\"TIME_WAIT\",\"ns\":60000000000},"
		  "{\"state\":\"CLOSED\",\"ns\":0}],"
		  "\"fin_wait2_ns\":4000000,\"close_wait_ns\":0,\"time_wait_ns\":60000000000,"
		  "\"end\":\"tw_expired\",\"complete\":true,\"seeded\":false,"
		  "\"start_exact\":true,\"gap\":false,\"evicted\":false}\n");
	free(got);
}

static void test_json_escape_and_null_pid(void)
{
	struct tl_transition t = mk_transition();
	struct tl_lifecycle lc = mk_lifecycle();
	struct cap c;
	char *got;

	/* A full 16-byte comm has no NUL: it must stop at 16 anyway. */
	memcpy(t.owner.comm, "a\"b\\c\x01\n\x7f" "d\xc3\xa9" "e\xff" "fgh", TL_COMM_LEN);
	lc.owner.pid = -1;
	strcpy(lc.owner.comm, "stale");
	lc.complete = false;
	lc.end = TL_END_UNKNOWN;
	lc.seeded = true;
	lc.start_exact = false;
	lc.gap = true;
	lc.evicted = true;
	cap_open(&c, TL_FMT_JSON, false);
	tl_output_transition(&c.out, &t);
	tl_output_lifecycle(&c.out, &lc);
	got = cap_close(&c);
	CHECK(strstr(got, ",\"pid\":4242,\"comm\":\"a\\\"b\\\\c\\u0001\\u000a\\u007f"
		      "d\xc3\xa9" "e\\u00ff" "fgh\"}\n{\"type\":\"lifecycle\"") != NULL);
	CHECK(strstr(got, ",\"netns\":4026531840,\"pid\":null,\"comm\":null,"
		      "\"start_ns\":") != NULL);
	CHECK(strstr(got, "\"end\":\"unknown\",\"complete\":false,\"seeded\":true,"
		      "\"start_exact\":false,\"gap\":true,\"evicted\":true}\n") != NULL);
	free(got);
}

static void test_json_ipv6(void)
{
	struct tl_transition t = mk_transition();
	char *got;

	tuple6(&t.tuple, "::1", "2001:db8::ff00:42:8329");
	t.owner.pid = -1;
	t.old_state = TL_TCP_ESTABLISHED;
	t.new_state = TL_TCP_CLOSE_WAIT;
	got = transition_out(&t, TL_FMT_JSON, false);
	CHECK(strstr(got, "\"family\":\"IPv6\",\"saddr\":\"::1\",\"sport\":40000,"
		      "\"daddr\":\"2001:db8::ff00:42:8329\",\"dport\":8080,") != NULL);
	CHECK(strstr(got, "\"old\":\"ESTABLISHED\",\"new\":\"CLOSE_WAIT\","
		      "\"in_old_ns\":1234567,\"pid\":null,\"comm\":null}\n") != NULL);
	free(got);
}

static const char trans_hdr[] =
	"TIME         CONN  PID     COMM            LOCAL              REMOTE             "
	"OLDSTATE    -> NEWSTATE    MS\n";
static const char lc_hdr[] =
	"TIME         PID     COMM            LOCAL              REMOTE               "
	"FW2    CW    TW END        STATES\n";

/* A NETNS column from the first row in a second namespace on, under a
 * header of its own; rows before it were all in the first. */
static void test_text_netns_column(void)
{
	struct tl_lifecycle lc = mk_lifecycle();
	struct tl_transition t = mk_transition();
	struct cap c;
	char *got, *second;

	cap_open(&c, TL_FMT_TEXT, false);
	tl_output_lifecycle(&c.out, &lc);
	lc.tuple.netns = 0;		/* unknown: no column for it */
	tl_output_lifecycle(&c.out, &lc);
	lc.tuple.netns = 4026532174u;
	tl_output_lifecycle(&c.out, &lc);
	lc.tuple.netns = 4026531840u;
	tl_output_lifecycle(&c.out, &lc);
	got = cap_close(&c);
	CHECK(!strncmp(got, lc_hdr, strlen(lc_hdr)));
	second = strstr(got + 1, "TIME ");
	CHECK(second != NULL);
	if (second) {
		CHECK_STR(second,
			  "TIME         PID     COMM            NETNS      LOCAL              "
			  "REMOTE               FW2    CW    TW END        STATES\n"
			  "12:35:56.794 999     wget            4026532174 192.168.1.10:51234 "
			  "93.184.216.34:443  4.0ms     - 60.0s tw_expired SS>ES>FW1>FW2>TW\n"
			  "12:35:56.794 999     wget            4026531840 192.168.1.10:51234 "
			  "93.184.216.34:443  4.0ms     - 60.0s tw_expired SS>ES>FW1>FW2>TW\n");
		CHECK(strstr(second + 1, "TIME ") == NULL);
	}
	free(got);
	/* transitions too */
	cap_open(&c, TL_FMT_TEXT, false);
	tl_output_transition(&c.out, &t);
	t.tuple.netns = 7;
	tl_output_transition(&c.out, &t);
	got = cap_close(&c);
	second = strstr(got + 1, "TIME ");
	CHECK(second != NULL && strstr(second, " NETNS ") && strstr(second, " 7          127.0.0.1"));
	CHECK(strstr(got, " NETNS ") == second + 42);	/* not in the first header */
	free(got);
}

static void test_text_transition(void)
{
	struct tl_transition t = mk_transition();
	struct cap c;
	char *got;

	cap_open(&c, TL_FMT_TEXT, false);
	tl_output_transition(&c.out, &t);
	t.owner.pid = -1;
	t.ts_ns += 1500 * MS;
	t.in_old_ns = 60 * SEC;
	t.old_state = TL_TCP_TIME_WAIT;
	t.new_state = TL_TCP_CLOSE;
	tl_output_transition(&c.out, &t);
	got = cap_close(&c);
	CHECK(!strncmp(got, trans_hdr, strlen(trans_hdr)));
	CHECK_STR(got + strlen(trans_hdr),
		  "12:34:56.789 7     4242    curl            127.0.0.1:40000    "
		  "10.0.0.2:8080      FIN_WAIT2   -> TIME_WAIT   1.234\n"
		  "12:34:58.289 7     -       -               127.0.0.1:40000    "
		  "10.0.0.2:8080      TIME_WAIT   -> CLOSE       60000.000\n");
	/* The header once, and nothing else in it. */
	CHECK(strstr(got + 1, "TIME ") == NULL);
	free(got);
}

static void test_text_lifecycle(void)
{
	struct tl_lifecycle lc = mk_lifecycle();
	struct cap c;
	char *got;

	cap_open(&c, TL_FMT_TEXT, false);
	tl_output_lifecycle(&c.out, &lc);
	/* Passive close, still in CLOSE_WAIT when tracing stopped. */
	lc.conn = 13;
	lc.states[0].state = TL_TCP_SYN_RECV;
	lc.states[2].state = TL_TCP_CLOSE_WAIT;
	lc.nstates = 3;
	lc.fin_wait2_ns = 0;
	lc.time_wait_ns = 0;
	lc.close_wait_ns = 300000;
	lc.end = TL_END_UNKNOWN;
	lc.complete = false;
	lc.end_ns = 5 * SEC;
	strcpy(lc.owner.comm, "ng\tinx");
	tl_output_lifecycle(&c.out, &lc);
	got = cap_close(&c);
	CHECK(!strncmp(got, lc_hdr, strlen(lc_hdr)));
	CHECK_STR(got + strlen(lc_hdr),
		  "12:35:56.794 999     wget            192.168.1.10:51234 93.184.216.34:443  "
		  "4.0ms     - 60.0s tw_expired SS>ES>FW1>FW2>TW\n"
		  "12:34:56.789 999     ng\\x09inx       192.168.1.10:51234 93.184.216.34:443  "
		  "    - 300us     - unknown*   SR>ES>CW\n");
	free(got);
}

/* Every column of a row lies under its header's name: a left-aligned
 * one starts where the name does, a right-aligned one (times) ends where
 * it ends.  Returns the number of columns. */
static int check_aligned(const char *got)
{
	const char *row = strchr(got, '\n') + 1, *h;
	int cols = 0;

	for (h = got; *h != '\n'; h++) {
		size_t start = (size_t)(h - got), end = start;

		if (*h == ' ' || (h > got && h[-1] != ' '))
			continue;
		while (got[end] != ' ' && got[end] != '\n')
			end++;
		cols++;
		CHECK(start == 0 || row[start - 1] == ' ' || row[end] == ' ');
	}
	return cols;
}

static void test_text_alignment(void)
{
	struct tl_lifecycle lc = mk_lifecycle();
	char *got;

	got = lifecycle_out(&lc, TL_FMT_TEXT);
	CHECK_EQ_U64(check_aligned(got), 10);
	free(got);
}

/* The narrow layout: 80 columns with any IPv4 endpoint; the lingering
 * state that lasted longest in place of the three times and the path. */
static void test_text_narrow(void)
{
	struct tl_lifecycle lc = mk_lifecycle();
	struct tl_transition t = mk_transition();
	struct cap c;
	char *got;

	cap_open(&c, TL_FMT_TEXT, false);
	c.out.narrow = true;
	tl_output_lifecycle(&c.out, &lc);
	memcpy(lc.tuple.daddr, (uint8_t[]){ 255, 255, 255, 255 }, 4);
	lc.tuple.dport = 65535;
	lc.close_wait_ns = 0;
	lc.end = TL_END_FIN_TIMEOUT;
	lc.complete = false;
	lc.time_wait_ns = 0;
	lc.nstates = 4;		/* SS ES FW1 FW2: no TIME_WAIT */
	tl_output_lifecycle(&c.out, &lc);
	got = cap_close(&c);
	CHECK_STR(got,
		  "TIME     PID     COMM       LPORT REMOTE                LINGER    END\n"
		  "12:35:56 999     wget       51234 93.184.216.34:443     TW 60.0s  tw_expired\n"
		  "12:35:56 999     wget       51234 255.255.255.255:65535 FW2 4.0ms fin_timeout*\n");
	for (char *l = got; *l; l = strchr(l, '\n') + 1)
		CHECK(strchr(l, '\n') - l <= 80);
	CHECK_EQ_U64(check_aligned(got), 7);
	free(got);
	cap_open(&c, TL_FMT_TEXT, false);
	c.out.narrow = true;
	tl_output_transition(&c.out, &t);
	got = cap_close(&c);
	CHECK_STR(got,
		  "TIME     CONN  PID     COMM       LPORT REMOTE                OLD -> NEW AFTER\n"
		  "12:34:56 7     4242    curl       40000 10.0.0.2:8080         FW2 -> TW  1.2ms\n");
	free(got);
}

static void test_text_wide(void)
{
	struct tl_transition t = mk_transition();
	char *got;

	tuple6(&t.tuple, "2001:db8:1:2:3:4:5:6", "::1");
	got = transition_out(&t, TL_FMT_TEXT, true);
	CHECK(strstr(got, " LOCAL                                           "
		      "REMOTE                                          OLDSTATE ") != NULL);
	CHECK(strstr(got, " [2001:db8:1:2:3:4:5:6]:40000                    "
		      "[::1]:8080                                      FIN_WAIT2 ") != NULL);
	free(got);
}

/* A leak group made by a process named to forge report lines, with a
 * stack of 32 long frames and a long command line. */
static const char evil_comm[] = "\x1b[2J\x1b]0;X\a\nFAKE";

static void mk_leak(struct tl_leaks *L, struct tl_leak_group *g, struct tl_stacks *st,
		    size_t frame_len, unsigned char fill)
{
	char *blob = malloc(TL_LOG_BLOB_TEST), *frames[32];
	size_t len;

	for (int i = 0; i < 32; i++) {
		frames[i] = malloc(frame_len + 1);
		memset(frames[i], fill, frame_len);
		frames[i][frame_len] = '\0';
	}
	frames[0][0] = '\x1b';
	memset(blob, 0, TL_LOG_BLOB_TEST);
	len = tl_stack_blob(blob, TL_LOG_BLOB_TEST, "srv \x1b[31mred\xc2\x9b" "2J\n", frames, 32);
	CHECK(tl_stacks_add(st, 1, blob, len) == 0);
	for (int i = 0; i < 32; i++)
		free(frames[i]);
	free(blob);
	memset(L, 0, sizeof(*L));
	memset(g, 0, sizeof(*g));
	L->groups = g;
	L->ngroups = L->cap = 1;
	L->sockets = 1;
	g->owner.pid = 77;
	memcpy(g->owner.comm, evil_comm, sizeof(evil_comm));
	g->created_by = TL_OWN_ACCEPT;
	g->stack = 1;
	g->count = 1;
	tuple4(&g->tuple, "127.0.0.1", 80, "127.0.0.1", 5555);
	g->usage.nholders = 1;
	g->usage.holders[0].pid = 77;
	g->usage.holders[0].fd = 5;
	memcpy(g->usage.holders[0].comm, evil_comm, sizeof(evil_comm));
	snprintf(g->diagnosis, sizeof(g->diagnosis), "%d (%s) never closed fd 5", 77, evil_comm);
}

/* No byte a terminal acts on but the line ends; returns the line count. */
static int check_terminal_safe(const char *s)
{
	int lines = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			lines++;
		else
			CHECK(*p >= 0x20 && *p != 0x7f && !(*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0));
	}
	return lines;
}

static void test_leaks_text_escaped(void)
{
	struct tl_stacks *st = tl_stacks_new();
	struct tl_leak_group g;
	struct tl_leaks L;
	char *got;

	mk_leak(&L, &g, st, 100, 'f');
	got = leaks_out(&L, st, TL_FMT_TEXT);
	/* blank, title, header; row, diagnosis, "made by", 32 frames (the
	 * blob keeps what fits), command, holder */
	CHECK_EQ_U64(check_terminal_safe(got), 3 + 3 + tl_stacks_get(st, 1)->nframes + 2);
	CHECK(strstr(got, "77      \\x1b[2J\\x1b]0;X\\x07\\x0aFAKE ") != NULL);
	CHECK(strstr(got, "    held by 77 (\\x1b[2J\\x1b]0;X\\x07\\x0aFAKE) as fd 5\n") != NULL);
	CHECK(strstr(got, "    command: srv \\x1b[31mred\\xc2\\x9b2J\\x0a\n") != NULL);
	CHECK(strstr(got, "      \\x1bfff") != NULL);
	CHECK(strstr(got, "FAKE) never closed fd 5\n") != NULL);
	free(got);
	tl_stacks_free(st);
}

/* Escaping makes a record up to six times its bytes: every line must
 * still be whole JSON, however long. */
static void test_leaks_json_long(void)
{
	struct tl_stacks *st = tl_stacks_new();
	struct tl_leak_group g;
	struct tl_leaks L;
	char *got, *nl;

	mk_leak(&L, &g, st, 240, 0x01);
	got = leaks_out(&L, st, TL_FMT_JSON);
	nl = strchr(got, '\n');
	CHECK(nl && nl - got > 16384);
	CHECK(nl && !strncmp(nl - 2, "\"}", 2));
	CHECK(nl && strstr(got, "\"cmdline\":\"srv \\u001b[31mred\\u009b2J\\u000a\"") != NULL);
	CHECK(nl && !strncmp(nl + 1, "{\"type\":\"leaks\",", 16));
	CHECK_EQ_U64(check_terminal_safe(got), 2);
	free(got);
	tl_stacks_free(st);
}

static void add_blob(struct tl_stacks *st, uint32_t ref, const char *label, char **frames, int n)
{
	char blob[1024];

	CHECK_EQ_U64(tl_stacks_add(st, ref, blob, tl_stack_blob(blob, sizeof(blob), label,
								 frames, n)), 0);
}

static void add_thread(struct tl_threads *T, uint32_t tid, uint64_t aux)
{
	struct tl_event ev = { .type = TL_EV_THREAD, .pid = 77, .tid = tid, .new_state = 'S',
			       .flags = TL_F_IN_TASK, .aux = aux };

	memcpy(ev.comm, "srv", 4);
	tl_threads_feed(T, &ev);
}

/* Where the holder is stuck: the last user's thread first, in full. */
static void test_leaks_threads(void)
{
	char *native[] = { "futex (libc.so.6)", "worker+0x1 (w.c:3)" };
	char *py[] = { "gen (app.py:4)", "handler (app.py:9)" };
	struct tl_stacks *st = tl_stacks_new();
	struct tl_threads T = { 0 };
	struct tl_leak_group g;
	struct tl_leaks L;
	char *got;

	mk_leak(&L, &g, st, 10, 'f');
	memcpy(g.owner.comm, "srv", 4);
	memcpy(g.usage.holders[0].comm, "srv", 4);
	g.holders_known = true;
	g.usage.last.pid = 77;
	g.usage.last_tid = 78;
	add_blob(st, 2, "futex", native, 2);
	add_blob(st, 3, "", py, 2);
	add_blob(st, 4, "poll", native + 1, 1);
	add_thread(&T, 77, 4);
	add_thread(&T, 78, (uint64_t)3 << 32 | 2);
	add_thread(&T, 0, 2);
	got = leaks_threads_out(&L, st, &T, TL_FMT_JSON);
	CHECK(strstr(got, ",\"threads\":[{\"tid\":78,\"comm\":\"srv\",\"state\":\"S\","
		      "\"syscall\":\"futex\",\"last_user\":true,\"stack\":[\"futex (libc.so.6)\","
		      "\"worker+0x1 (w.c:3)\"],\"py_stack\":[\"gen (app.py:4)\",\"handler (app.py:9)\"]},"
		      "{\"tid\":77,\"comm\":\"srv\",\"state\":\"S\",\"syscall\":\"poll\","
		      "\"last_user\":false,\"stack\":[\"worker+0x1 (w.c:3)\"]}],\"more_threads\":2}\n") != NULL);
	free(got);
	got = leaks_threads_out(&L, st, &T, TL_FMT_TEXT);
	CHECK(strstr(got, "    now thread 78 (srv, the last to use it) S in futex:\n"
		      "      python:\n        gen (app.py:4)\n        handler (app.py:9)\n"
		      "      native:\n        futex (libc.so.6)\n        worker+0x1 (w.c:3)\n"
		      "    other threads:\n      77 (srv) S in poll at worker+0x1 (w.c:3)\n"
		      "    and 2 more threads\n") != NULL);
	free(got);
	tl_threads_free(&T);
	tl_stacks_free(st);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	RUN(test_json_transition);
	RUN(test_json_lifecycle);
	RUN(test_csv_lifecycle);
	RUN(test_json_escape_and_null_pid);
	RUN(test_json_ipv6);
	RUN(test_text_transition);
	RUN(test_text_lifecycle);
	RUN(test_text_netns_column);
	RUN(test_text_alignment);
	RUN(test_text_narrow);
	RUN(test_text_wide);
	RUN(test_leaks_text_escaped);
	RUN(test_leaks_json_long);
	RUN(test_leaks_threads);
	return UNIT_END();
}
