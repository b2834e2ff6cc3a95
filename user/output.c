// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Transition and lifecycle writers; see output.h. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "units.h"
#include "connerr.h"
#include "layout.h"
#include "leaks.h"
#include "output.h"
#include "ports.h"
#include "stacks.h"
#include "threads.h"
#include "summary.h"
#include "textbuf.h"


/* One output line: most fit the stack buffer; a longer one (a leak group
 * whose escaped stack and command line run long) moves to the heap, since
 * a record cut short is no longer JSON. */
struct line {
	struct tl_textbuf tb;
	char buf[16384];
};

static struct tl_textbuf *line_start(struct line *l)
{
	tb_init_grow(&l->tb, l->buf, sizeof(l->buf));
	return &l->tb;
}

static void emit_to(FILE *f, struct line *l)
{
	/* Cut short only when memory ran out: the line still ends in '\n'. */
	if (l->tb.len == l->tb.max)
		l->tb.buf[l->tb.len - 1] = '\n';
	fwrite(l->tb.buf, 1, l->tb.len, f);
	tb_release(&l->tb);
}

static void emit(struct tl_output *out, struct line *l)
{
	emit_to(out->f, l);
}

void tl_output_init(struct tl_output *out, FILE *f, enum tl_format fmt, bool wide)
{
	memset(out, 0, sizeof(*out));
	out->f = f;
	out->fmt = fmt;
	out->wide = wide;
}

static int64_t ts_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts))
		return 0;
	return (int64_t)ts.tv_sec * (int64_t)NS_PER_SEC + ts.tv_nsec;
}

int64_t tl_boot_to_real_ns(void)
{
	static int64_t offset;
	static bool taken;

	if (!taken) {
		offset = ts_ns(CLOCK_REALTIME) - ts_ns(CLOCK_BOOTTIME);
		taken = true;
	}
	return offset;
}

void tl_output_flush(struct tl_output *out)
{
	fflush(out->f);
}

/* ---- shared bits ---- */

/* Wall-clock ns of a boot time.  Both terms may come from a log made
 * elsewhere: clamp, never overflow. */
static int64_t wall_ns(uint64_t boot_ns, int64_t boot_to_real_ns)
{
	int64_t b = boot_ns > INT64_MAX ? INT64_MAX : (int64_t)boot_ns, real;

	if (__builtin_add_overflow(b, boot_to_real_ns, &real))
		real = INT64_MAX;	/* b >= 0: only a positive sum overflows */
	return real < 0 ? 0 : real;
}

/* ISO 8601 in UTC to the microsecond, "2026-12-04T21:14:03.123456Z",
 * of a boot time: the date is converted once a second. */
static void put_iso_time(struct tl_output *out, struct tl_textbuf *tb, uint64_t boot_ns)
{
	int64_t real = wall_ns(boot_ns, out->boot_to_real_ns);
	int64_t sec = real / (int64_t)NS_PER_SEC;

	if (!out->iso_len || sec != out->iso_sec) {
		struct tl_textbuf c;

		tb_init(&c, out->iso, sizeof(out->iso));
		tb_utc_seconds(&c, sec);
		out->iso_sec = sec;
		out->iso_len = c.len;
	}
	tb_mem(tb, out->iso, out->iso_len);
	tb_chr(tb, '.');
	tb_u64_zero(tb, (uint64_t)(real % (int64_t)NS_PER_SEC / (int64_t)NS_PER_US), 6);
	tb_chr(tb, 'Z');
}

/* ,"key":"ISO time" */
static void put_json_time(struct tl_output *out, struct tl_textbuf *tb, const char *key,
			  uint64_t boot_ns)
{
	tb_str(tb, ",\"");
	tb_str(tb, key);
	tb_str(tb, "\":\"");
	put_iso_time(out, tb, boot_ns);
	tb_chr(tb, '"');
}

static const char *state_name(int state)
{
	const char *s = tl_state_name(state);

	return s ? s : "?";
}

static const char *end_name(enum tl_end end)
{
	const char *s = tl_end_name(end);

	return s ? s : "?";
}

static const char *family_name(uint8_t family)
{
	switch (family) {
	case AF_INET:
		return "IPv4";
	case AF_INET6:
		return "IPv6";
	default:
		return "unknown";
	}
}

static void put_addr(struct tl_textbuf *tb, uint8_t family, const uint8_t *addr)
{
	if (family == AF_INET)
		tb_ipv4(tb, addr);
	else if (family == AF_INET6)
		tb_ipv6(tb, addr);
	else
		tb_chr(tb, '?');
}

/* The address as text in buf; returns its length. */
static size_t fmt_addr(char buf[INET6_ADDRSTRLEN], uint8_t family, const uint8_t *addr)
{
	struct tl_textbuf tb;

	tb_init(&tb, buf, INET6_ADDRSTRLEN);
	put_addr(&tb, family, addr);
	tb_cstr(&tb);
	return tb.len;
}

static bool visited(const struct tl_lifecycle *lc, int state, uint64_t ns)
{
	int i;

	if (ns)
		return true;
	for (i = 0; i < lc->nstates && i <= TL_MAX_PATH; i++) {
		if (lc->states[i].state == state)
			return true;
	}
	return false;
}

static const char *jbool(bool b)
{
	return b ? "true" : "false";
}

/* Port 0 is no port: a connect() that failed before it got one. */
static void put_json_port(struct tl_textbuf *tb, uint16_t port)
{
	if (port)
		tb_u64(tb, port);
	else
		tb_str(tb, "null");
}

/* ---- JSON ---- */

static void put_json_conn(struct tl_textbuf *tb, uint64_t conn, const struct tl_tuple *tp)
{
	tb_str(tb, "\"conn\":");
	tb_u64(tb, conn);
	tb_str(tb, ",\"family\":\"");
	tb_str(tb, family_name(tp->family));
	tb_str(tb, "\",\"saddr\":\"");
	put_addr(tb, tp->family, tp->saddr);
	tb_str(tb, "\",\"sport\":");
	put_json_port(tb, tp->sport);
	tb_str(tb, ",\"daddr\":\"");
	put_addr(tb, tp->family, tp->daddr);
	tb_str(tb, "\",\"dport\":");
	put_json_port(tb, tp->dport);
	tb_str(tb, ",\"netns\":");
	tb_u64(tb, tp->netns);
}

static void put_json_owner(struct tl_textbuf *tb, const struct tl_owner *o)
{
	if (o->pid < 0) {
		tb_str(tb, o->none ? "\"pid\":null,\"comm\":null,\"ownerless\":true"
				   : "\"pid\":null,\"comm\":null");
		return;
	}
	tb_str(tb, "\"pid\":");
	tb_i64(tb, o->pid);
	tb_str(tb, ",\"comm\":");
	tb_json_str(tb, o->comm, sizeof(o->comm));
}

/* ,"key":value for a number and for a bare word (true, false, null) */
static void put_json_u64(struct tl_textbuf *tb, const char *key, uint64_t v)
{
	tb_str(tb, ",\"");
	tb_str(tb, key);
	tb_str(tb, "\":");
	tb_u64(tb, v);
}

static void put_json_word(struct tl_textbuf *tb, const char *key, const char *word)
{
	tb_str(tb, ",\"");
	tb_str(tb, key);
	tb_str(tb, "\":");
	tb_str(tb, word);
}

static void json_transition(struct tl_output *out, struct tl_textbuf *tb,
			    const struct tl_transition *t)
{
	tb_str(tb, "{\"type\":\"transition\",\"ts_ns\":");
	tb_u64(tb, t->ts_ns);
	put_json_time(out, tb, "ts", t->ts_ns);
	tb_chr(tb, ',');
	put_json_conn(tb, t->conn, &t->tuple);
	tb_str(tb, ",\"old\":\"");
	tb_str(tb, state_name(t->old_state));
	tb_str(tb, "\",\"new\":\"");
	tb_str(tb, state_name(t->new_state));
	tb_str(tb, "\",\"in_old_ns\":");
	tb_u64(tb, t->in_old_ns);
	tb_chr(tb, ',');
	put_json_owner(tb, &t->owner);
	tb_str(tb, "}\n");
}

static void json_lifecycle(struct tl_output *out, struct tl_textbuf *tb,
			   const struct tl_lifecycle *lc)
{
	int i;

	tb_str(tb, "{\"type\":\"lifecycle\",");
	put_json_conn(tb, lc->conn, &lc->tuple);
	tb_chr(tb, ',');
	put_json_owner(tb, &lc->owner);
	put_json_u64(tb, "start_ns", lc->start_ns);
	put_json_time(out, tb, "start_ts", lc->start_ns);
	put_json_u64(tb, "end_ns", lc->end_ns);
	put_json_time(out, tb, "end_ts", lc->end_ns);
	put_json_u64(tb, "duration_ns", lc->end_ns > lc->start_ns ? lc->end_ns - lc->start_ns : 0);
	tb_str(tb, ",\"states\":[");
	for (i = 0; i < lc->nstates && i <= TL_MAX_PATH; i++) {
		tb_str(tb, i ? ",{\"state\":\"" : "{\"state\":\"");
		tb_str(tb, state_name(lc->states[i].state));
		tb_str(tb, "\",\"ns\":");
		tb_u64(tb, lc->states[i].ns);
		tb_chr(tb, '}');
	}
	tb_chr(tb, ']');
	put_json_u64(tb, "fin_wait2_ns", lc->fin_wait2_ns);
	put_json_u64(tb, "close_wait_ns", lc->close_wait_ns);
	put_json_u64(tb, "time_wait_ns", lc->time_wait_ns);
	tb_str(tb, ",\"end\":\"");
	tb_str(tb, end_name(lc->end));
	tb_chr(tb, '"');
	put_json_word(tb, "complete", jbool(lc->complete));
	put_json_word(tb, "seeded", jbool(lc->seeded));
	put_json_word(tb, "start_exact", jbool(lc->start_exact));
	put_json_word(tb, "gap", jbool(lc->gap));
	put_json_word(tb, "evicted", jbool(lc->evicted));
	tb_str(tb, "}\n");
}

/* ---- CSV (RFC 4180) ---- */

/* The states a lifecycle can pass, one column each (in_STATE_ns: the
 * linger columns fin_wait2_ns... differ from these in more than case, for
 * tools that read headers regardless of case), in the order a connection
 * meets them.  The wall-clock columns come last: scripts that count
 * columns keep theirs. */
static const int csv_states[] = {
	TL_TCP_SYN_SENT, TL_TCP_SYN_RECV, TL_TCP_ESTABLISHED, TL_TCP_FIN_WAIT1,
	TL_TCP_FIN_WAIT2, TL_TCP_CLOSING, TL_TCP_TIME_WAIT, TL_TCP_CLOSE_WAIT,
	TL_TCP_LAST_ACK, TL_TCP_LISTEN,
};

static void csv_header(struct tl_textbuf *tb)
{
	tb_str(tb, "conn,family,saddr,sport,daddr,dport,netns,pid,comm,start_ns,end_ns,"
	       "duration_ns,fin_wait2_ns,close_wait_ns,time_wait_ns,end,complete,seeded,"
	       "start_exact,gap,evicted,path");
	for (size_t i = 0; i < sizeof(csv_states) / sizeof(csv_states[0]); i++) {
		tb_str(tb, ",in_");
		tb_str(tb, state_name(csv_states[i]));
		tb_str(tb, "_ns");
	}
	tb_str(tb, ",start_ts,end_ts\n");
}

/*
 * comm is the only free text, and any process sets its own: control
 * bytes become '?', and a cell a spreadsheet would take for a formula
 * (= + - @ first) gets a leading ' inside quotes.  Quoted when needed.
 */
static void put_csv_str(struct tl_textbuf *tb, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	bool formula = n && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@');
	bool quote = formula || memchr(s, ',', n) || memchr(s, '"', n);

	if (quote)
		tb_chr(tb, '"');
	if (formula)
		tb_chr(tb, '\'');
	for (size_t i = 0; i < n; i++) {
		char c = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];

		if (c == '"')
			tb_chr(tb, '"');	/* a quote is written twice */
		tb_chr(tb, c);
	}
	if (quote)
		tb_chr(tb, '"');
}

/* value, then a comma */
static void put_csv_u64(struct tl_textbuf *tb, uint64_t v)
{
	tb_u64(tb, v);
	tb_chr(tb, ',');
}

static void put_csv_port(struct tl_textbuf *tb, uint16_t port)
{
	if (port)
		tb_u64(tb, port);
	tb_chr(tb, ',');
}

static void put_csv_word(struct tl_textbuf *tb, const char *word)
{
	tb_str(tb, word);
	tb_chr(tb, ',');
}

static void csv_lifecycle(struct tl_output *out, struct tl_textbuf *tb,
			  const struct tl_lifecycle *lc)
{
	const struct tl_tuple *tp = &lc->tuple;
	uint64_t ns[TL_STATE_CLOSED + 1] = { 0 };
	int i;

	put_csv_u64(tb, lc->conn);
	put_csv_word(tb, family_name(tp->family));
	put_addr(tb, tp->family, tp->saddr);
	tb_chr(tb, ',');
	put_csv_port(tb, tp->sport);
	put_addr(tb, tp->family, tp->daddr);
	tb_chr(tb, ',');
	put_csv_port(tb, tp->dport);
	put_csv_u64(tb, tp->netns);
	if (lc->owner.pid >= 0) {
		tb_i64(tb, lc->owner.pid);
		tb_chr(tb, ',');
		put_csv_str(tb, lc->owner.comm, sizeof(lc->owner.comm));
	} else {
		tb_chr(tb, ',');
	}
	tb_chr(tb, ',');
	put_csv_u64(tb, lc->start_ns);
	put_csv_u64(tb, lc->end_ns);
	put_csv_u64(tb, lc->end_ns > lc->start_ns ? lc->end_ns - lc->start_ns : 0);
	put_csv_u64(tb, lc->fin_wait2_ns);
	put_csv_u64(tb, lc->close_wait_ns);
	put_csv_u64(tb, lc->time_wait_ns);
	put_csv_word(tb, end_name(lc->end));
	put_csv_word(tb, jbool(lc->complete));
	put_csv_word(tb, jbool(lc->seeded));
	put_csv_word(tb, jbool(lc->start_exact));
	put_csv_word(tb, jbool(lc->gap));
	put_csv_word(tb, jbool(lc->evicted));
	for (i = 0; i < lc->nstates && i <= TL_MAX_PATH; i++) {
		int st = lc->states[i].state;

		if (i)
			tb_chr(tb, '>');
		tb_str(tb, state_name(st));
		if (st >= 0 && st <= TL_STATE_CLOSED)
			ns[st] += lc->states[i].ns;
	}
	for (size_t k = 0; k < sizeof(csv_states) / sizeof(csv_states[0]); k++) {
		tb_chr(tb, ',');
		tb_u64(tb, ns[csv_states[k]]);
	}
	tb_chr(tb, ',');
	put_iso_time(out, tb, lc->start_ns);
	tb_chr(tb, ',');
	put_iso_time(out, tb, lc->end_ns);
	tb_chr(tb, '\n');
}

/* ---- text ---- */

/*
 * Two layouts (layout.h).  Wide, 120 columns for endpoints up to 17
 * characters ("10.100.20.3:51234") and paths up to 18 ("SS>ES>FW1>FW2>TW"
 * is 16); a longer endpoint pushes the rest of its row right, and the path
 * comes last so that only an unusual one runs past:
 *   TIME         PID     COMM            LOCAL             REMOTE              FW2    CW    TW END        STATES
 * Narrow, 80 columns for any IPv4 endpoint: the time to the second, COMM
 * cut to 12, the local port alone, and in place of the three times and the
 * path one LINGER column, the state that lingered longest and how long:
 *   TIME     PID     COMM       LPORT REMOTE                LINGER    END
 * -W widens endpoints to any IPv6 address.  --events rows keep CONN, which
 * ties a connection's transitions together.
 */
#define EP_W		18	/* an endpoint, wide layout */
#define EP_W_NARROW	21	/* "255.255.255.255:65535" */
#define EP_W_IPV6	47	/* "[" a full IPv6 address "]:65535" */
#define COMM_W		15	/* TASK_COMM_LEN - 1 */
#define COMM_W_NARROW	10
#define DUR_W		5	/* tb_dur() */

static int ep_w(const struct tl_output *out)
{
	return out->wide ? EP_W_IPV6 : out->narrow ? EP_W_NARROW : EP_W;
}

/* A column and the blank after it; negative widths align left. */
static void put_col(struct tl_textbuf *tb, const char *s, int width)
{
	tb_str_w(tb, s, width);
	tb_chr(tb, ' ');
}

/* "10.0.0.1:80", "[::1]:80"; the port "-" where there is none (a
 * connect() that failed before it got one). */
static void put_endpoint(struct tl_textbuf *tb, uint8_t family, const uint8_t *addr,
			 uint16_t port, int width)
{
	char buf[64];
	struct tl_textbuf e;

	tb_init(&e, buf, sizeof(buf));
	if (family == AF_INET6)
		tb_chr(&e, '[');
	put_addr(&e, family, addr);
	tb_str(&e, family == AF_INET6 ? "]:" : ":");
	if (port)
		tb_u64(&e, port);
	else
		tb_chr(&e, '-');
	tb_mem_w(tb, buf, e.len, width);
	tb_chr(tb, ' ');
}

/* The columns every row starts with, up to the endpoints; conn (CONN)
 * only for transitions. */
static void put_header(struct tl_output *out, struct tl_textbuf *tb, bool conn, const char *tail)
{
	put_col(tb, "TIME", out->narrow ? -8 : -12);
	if (conn)
		put_col(tb, "CONN", -5);
	put_col(tb, "PID", -7);
	put_col(tb, "COMM", out->narrow ? -COMM_W_NARROW : -COMM_W);
	if (out->netns_col)
		put_col(tb, "NETNS", -10);
	if (out->narrow) {
		put_col(tb, "LPORT", -5);
		put_col(tb, "REMOTE", -ep_w(out));
	} else {
		put_col(tb, "LOCAL", -ep_w(out));
		put_col(tb, "REMOTE", -ep_w(out));
	}
	tb_str(tb, tail);
	tb_chr(tb, '\n');
	out->header_done = true;
}

/* HH:MM:SS.mmm (narrow: HH:MM:SS), local time. */
static void put_time(struct tl_output *out, struct tl_textbuf *tb, uint64_t boot_ns)
{
	int64_t real = wall_ns(boot_ns, out->boot_to_real_ns);
	time_t sec;

	sec = (time_t)(real / (int64_t)NS_PER_SEC);
	/* Rows come many a second: convert each second once. */
	if (!out->clock_len || sec != out->clock_sec) {
		struct tm tm;
		struct tl_textbuf c;

		if (!localtime_r(&sec, &tm))
			memset(&tm, 0, sizeof(tm));
		tb_init(&c, out->clock, sizeof(out->clock));
		tb_u64_zero(&c, (uint64_t)tm.tm_hour, 2);
		tb_chr(&c, ':');
		tb_u64_zero(&c, (uint64_t)tm.tm_min, 2);
		tb_chr(&c, ':');
		tb_u64_zero(&c, (uint64_t)tm.tm_sec, 2);
		out->clock_sec = sec;
		out->clock_len = c.len;
	}
	tb_mem(tb, out->clock, out->clock_len);
	if (!out->narrow) {
		tb_chr(tb, '.');
		tb_u64_zero(tb, (uint64_t)(real % (int64_t)NS_PER_SEC / (int64_t)NS_PER_MS), 3);
	}
	tb_chr(tb, ' ');
}

static void put_text_comm(const struct tl_output *out, struct tl_textbuf *tb,
			  const struct tl_owner *o)
{
	int w = out->narrow ? COMM_W_NARROW : COMM_W;

	if (o->pid < 0) {
		put_col(tb, "-", -7);
		put_col(tb, o->none ? "(none)" : "-", -w);
		return;
	}
	tb_i64_w(tb, o->pid, -7);
	tb_chr(tb, ' ');
	if (o->comm[0])
		tb_text_str_w(tb, o->comm, (size_t)w, -w);
	else
		tb_str_w(tb, "-", -w);
	tb_chr(tb, ' ');
}

/* Rows print as lifecycles end, so the tool cannot know at the first row
 * whether more than one namespace will show up: the NETNS column comes in,
 * under a header of its own, with the first row from a second namespace
 * (0: a socket with no namespace known). */
static void note_netns(struct tl_output *out, uint32_t netns)
{
	if (out->netns_col || !netns)
		return;
	if (!out->first_netns) {
		out->first_netns = netns;
	} else if (netns != out->first_netns) {
		out->netns_col = true;
		out->header_done = false;
	}
}

/* TIME, then CONN (transitions), PID, COMM, NETNS and the endpoints. */
static void put_text_conn(struct tl_output *out, struct tl_textbuf *tb, uint64_t ts_ns,
			  const uint64_t *conn, const struct tl_owner *o,
			  const struct tl_tuple *tp)
{
	put_time(out, tb, ts_ns);
	if (conn) {
		tb_u64_w(tb, *conn, -5);
		tb_chr(tb, ' ');
	}
	put_text_comm(out, tb, o);
	if (out->netns_col) {
		tb_u64_w(tb, tp->netns, -10);
		tb_chr(tb, ' ');
	}
	if (out->narrow) {
		if (tp->sport)
			tb_u64_w(tb, tp->sport, -5);
		else
			tb_str_w(tb, "-", -5);
		tb_chr(tb, ' ');
	} else {
		put_endpoint(tb, tp->family, tp->saddr, tp->sport, -ep_w(out));
	}
	put_endpoint(tb, tp->family, tp->daddr, tp->dport, -ep_w(out));
}

static const char *state_abbrev(int state)
{
	static const char *const ab[TL_TCP_MAX_STATES] = {
		[TL_TCP_ESTABLISHED] = "ES",
		[TL_TCP_SYN_SENT] = "SS",
		[TL_TCP_SYN_RECV] = "SR",
		[TL_TCP_FIN_WAIT1] = "FW1",
		[TL_TCP_FIN_WAIT2] = "FW2",
		[TL_TCP_TIME_WAIT] = "TW",
		[TL_TCP_CLOSE] = "CL",
		[TL_TCP_CLOSE_WAIT] = "CW",
		[TL_TCP_LAST_ACK] = "LA",
		[TL_TCP_LISTEN] = "LI",
		[TL_TCP_CLOSING] = "CG",
		[TL_TCP_NEW_SYN_RECV] = "NSR",
	};

	if (state > 0 && state < TL_TCP_MAX_STATES && ab[state])
		return ab[state];
	return "?";
}

static void text_transition(struct tl_output *out, struct tl_textbuf *tb,
			    const struct tl_transition *t)
{
	note_netns(out, t->tuple.netns);
	if (!out->header_done)
		put_header(out, tb, true, out->narrow ? "OLD -> NEW AFTER"
						      : "OLDSTATE    -> NEWSTATE    MS");
	put_text_conn(out, tb, t->ts_ns, &t->conn, &t->owner, &t->tuple);
	if (out->narrow) {
		tb_str_w(tb, state_abbrev(t->old_state), -3);
		tb_str(tb, " -> ");
		put_col(tb, state_abbrev(t->new_state), -3);
		tb_dur(tb, t->in_old_ns, DUR_W);
	} else {
		tb_str_w(tb, state_name(t->old_state), -11);
		tb_str(tb, " -> ");
		put_col(tb, state_name(t->new_state), -11);
		tb_ms(tb, t->in_old_ns, 0);
	}
	tb_chr(tb, '\n');
}

static void put_linger(struct tl_textbuf *tb, const struct tl_lifecycle *lc, int state,
		       uint64_t ns)
{
	if (visited(lc, state, ns))
		tb_dur(tb, ns, DUR_W);
	else
		tb_str_w(tb, "-", DUR_W);
	tb_chr(tb, ' ');
}

/* Narrow: the lingering state visited the longest, "TW 60.7s", or "-". */
static void put_longest_linger(struct tl_textbuf *tb, const struct tl_lifecycle *lc)
{
	static const int states[] = { TL_TCP_FIN_WAIT2, TL_TCP_CLOSE_WAIT, TL_TCP_TIME_WAIT };
	const uint64_t ns[] = { lc->fin_wait2_ns, lc->close_wait_ns, lc->time_wait_ns };
	char buf[32];
	struct tl_textbuf c;
	int best = -1;

	for (int i = 0; i < 3; i++)
		if (visited(lc, states[i], ns[i]) && (best < 0 || ns[i] > ns[best]))
			best = i;
	tb_init(&c, buf, sizeof(buf));
	if (best < 0) {
		tb_chr(&c, '-');
	} else {
		tb_str(&c, state_abbrev(states[best]));
		tb_chr(&c, ' ');
		tb_dur(&c, ns[best], 0);
	}
	tb_mem_w(tb, buf, c.len, -9);
	tb_chr(tb, ' ');
}

static void text_lifecycle(struct tl_output *out, struct tl_textbuf *tb,
			   const struct tl_lifecycle *lc)
{
	char end[32];
	struct tl_textbuf e;
	bool first = true;

	note_netns(out, lc->tuple.netns);
	if (!out->header_done)
		put_header(out, tb, false, out->narrow ? "LINGER    END"
						       : "  FW2    CW    TW END        STATES");
	put_text_conn(out, tb, lc->end_ns, NULL, &lc->owner, &lc->tuple);
	/* END starred when incomplete */
	tb_init(&e, end, sizeof(end));
	tb_str(&e, end_name(lc->end));
	if (!lc->complete)
		tb_chr(&e, '*');
	if (out->narrow) {
		put_longest_linger(tb, lc);
		tb_mem(tb, end, e.len);
		tb_chr(tb, '\n');
		return;
	}
	put_linger(tb, lc, TL_TCP_FIN_WAIT2, lc->fin_wait2_ns);
	put_linger(tb, lc, TL_TCP_CLOSE_WAIT, lc->close_wait_ns);
	put_linger(tb, lc, TL_TCP_TIME_WAIT, lc->time_wait_ns);
	tb_mem_w(tb, end, e.len, -10);
	tb_chr(tb, ' ');
	for (int i = 0; i < lc->nstates && i <= TL_MAX_PATH; i++) {
		if (lc->states[i].state == TL_STATE_CLOSED)
			continue;
		if (!first)
			tb_chr(tb, '>');
		tb_str(tb, state_abbrev(lc->states[i].state));
		first = false;
	}
	tb_chr(tb, '\n');
}

/* ---- entry points ---- */

void tl_output_transition(struct tl_output *out, const struct tl_transition *t)
{
	struct line l;
	struct tl_textbuf *tb = line_start(&l);

	if (out->fmt == TL_FMT_JSON)
		json_transition(out, tb, t);
	else if (out->fmt == TL_FMT_TEXT)
		text_transition(out, tb, t);
	else
		return;	/* CSV rows are lifecycles */
	emit(out, &l);
}

void tl_output_lifecycle(struct tl_output *out, const struct tl_lifecycle *lc)
{
	struct line l;
	struct tl_textbuf *tb;

	if (out->fmt == TL_FMT_TEXT && out->transitions && !out->at_end)
		return;
	tb = line_start(&l);
	if (out->fmt == TL_FMT_JSON) {
		json_lifecycle(out, tb, lc);
	} else if (out->fmt == TL_FMT_CSV) {
		if (!out->header_done) {
			csv_header(tb);
			out->header_done = true;
		}
		csv_lifecycle(out, tb, lc);
	} else {
		text_lifecycle(out, tb, lc);
	}
	emit(out, &l);
}

void tl_output_at_end(struct tl_output *out)
{
	struct line l;

	out->at_end = true;
	if (out->fmt != TL_FMT_TEXT || !out->transitions)
		return;
	tb_str(line_start(&l), "\nStill open at the end of the trace:\n");
	emit(out, &l);
	out->header_done = false;
}

void tl_output_summary(struct tl_output *out, const struct tl_summary *sum, uint64_t ts_ns,
		       uint64_t span_ns, bool final, uint64_t lost, uint64_t evicted,
		       const struct tl_opensum *open)
{
	struct line l;
	struct tl_textbuf *tb = line_start(&l);
	char title[96];

	if (out->fmt == TL_FMT_JSON) {
		char iso[48];
		struct tl_textbuf t;

		tb_init(&t, iso, sizeof(iso));
		put_iso_time(out, &t, ts_ns);
		tl_summary_json(tb, sum, ts_ns, tb_cstr(&t), span_ns, final, lost, evicted, open);
		emit(out, &l);
		return;
	}
	snprintf(title, sizeof(title), final ? "Summary of the whole trace (%.1f s)"
					     : "Summary of the last %.1f s",
		 (double)span_ns / NS_PER_SEC);
	tb_chr(tb, '\n');
	tl_summary_text(tb, sum, title, lost, evicted, open);
	emit_to(out->fmt == TL_FMT_CSV ? stderr : out->f, &l);
	if (out->fmt == TL_FMT_TEXT)
		out->header_done = false;	/* repeat the header after it */
}

/* ---- leak reports (a few rows per report: printf where it reads best) ---- */

static const char *created_name(uint8_t role)
{
	return role == TL_OWN_CONNECT ? "connect" : role == TL_OWN_ACCEPT ? "accept" : "unknown";
}

static void put_json_procs(struct tl_textbuf *tb, const char *key, const struct tl_proc_fd *p,
			   int n)
{
	tb_printf(tb, ",\"%s\":[", key);
	for (int i = 0; i < n && i < TL_USAGE_MAX; i++) {
		tb_printf(tb, "%s{\"pid\":%" PRId32 ",\"comm\":", i ? "," : "", p[i].pid);
		tb_json_str(tb, p[i].comm, sizeof(p[i].comm));
		tb_printf(tb, ",\"fd\":%" PRId32 "}", p[i].fd);
	}
	tb_chr(tb, ']');
}

static void put_json_stack(struct tl_textbuf *tb, const char *key, const struct tl_stack *st)
{
	tb_printf(tb, ",\"%s\":[", key);
	for (int i = 0; st && i < st->nframes; i++) {
		if (i)
			tb_chr(tb, ',');
		tb_json_str(tb, st->frames[i], SIZE_MAX);
	}
	tb_chr(tb, ']');
}

/* Where the holder of g is stuck now: its threads in the newest scan (of
 * its owner when no holder is known), the one that used the socket last
 * first (last_first), else the one that made it. */
struct stuck {
	const struct tl_thread *th[TL_THREADS_SHOWN];
	size_t n;
	uint64_t more;		/* threads the scan did not list */
	bool last_first;
};

static void group_threads(const struct tl_leak_group *g, const struct tl_threads *threads,
			  struct stuck *s)
{
	const struct tl_usage *u = &g->usage;
	int32_t pid = g->holders_known && u->nholders ? u->holders[0].pid : g->owner.pid;
	int32_t tid = 0;

	s->n = 0;
	s->more = 0;
	s->last_first = false;
	if (!threads || pid <= 0)
		return;
	if (u->last.pid == pid)
		tid = u->last_tid;
	else if (g->owner.pid == pid && g->created_by)
		tid = u->create_tid;
	s->n = tl_threads_of(threads, pid, tid, s->th, TL_THREADS_SHOWN, &s->more);
	s->last_first = s->n && tid && s->th[0]->tid == tid && u->last.pid == pid;
}

static const char *thread_syscall(const struct tl_stack *st)
{
	return st && st->cmdline[0] ? st->cmdline : NULL;
}

static void put_json_threads(struct tl_textbuf *tb, const struct tl_leak_group *g,
			     const struct tl_stacks *stacks, const struct tl_threads *threads)
{
	struct stuck s;

	group_threads(g, threads, &s);
	if (!s.n && !s.more)
		return;	/* not read: older logs, or no scan found it */
	tb_str(tb, ",\"threads\":[");
	for (size_t i = 0; i < s.n; i++) {
		const struct tl_thread *th = s.th[i];
		const struct tl_stack *st = tl_stacks_get(stacks, th->stack);
		const char *sys = thread_syscall(st);

		tb_printf(tb, "%s{\"tid\":%" PRId32 ",\"comm\":", i ? "," : "", th->tid);
		tb_json_str(tb, th->comm, sizeof(th->comm));
		tb_str(tb, ",\"state\":");
		tb_json_str(tb, &th->state, 1);
		tb_str(tb, ",\"syscall\":");
		if (sys)
			tb_json_str(tb, sys, 64);
		else
			tb_str(tb, "null");
		tb_printf(tb, ",\"last_user\":%s", jbool(!i && s.last_first));
		put_json_stack(tb, "stack", st);
		if (th->pystack)
			put_json_stack(tb, "py_stack", tl_stacks_get(stacks, th->pystack));
		tb_chr(tb, '}');
	}
	tb_printf(tb, "],\"more_threads\":%" PRIu64, s.more);
}

static void json_leak(struct tl_textbuf *tb, const struct tl_leak_group *g,
		      const struct tl_stacks *stacks, const struct tl_threads *threads)
{
	const struct tl_stack *st = tl_stacks_get(stacks, g->stack);
	const struct tl_usage *u = &g->usage;

	tb_str(tb, "{\"type\":\"leak\",");
	put_json_owner(tb, &g->owner);
	tb_printf(tb, ",\"count\":%" PRIu64 ",\"oldest_ns\":%" PRIu64 ",\"oldest_exact\":%s"
		  ",\"eof_seen\":%s,\"created_by\":\"%s\"", g->count, g->oldest_ns,
		  jbool(g->oldest_exact), jbool(g->eof_seen), created_name(g->created_by));
	put_json_stack(tb, "stack", st);
	put_json_procs(tb, "holders", u->holders, u->nholders);
	put_json_procs(tb, "closed_by", u->closers, u->nclosers);
	tb_str(tb, ",\"diagnosis\":");
	tb_json_str(tb, g->diagnosis, sizeof(g->diagnosis));
	tb_chr(tb, ',');
	put_json_conn(tb, g->conn, &g->tuple);
	tb_str(tb, ",\"cmdline\":");
	if (!st && u->nholders)
		st = tl_stacks_get(stacks, u->holders[0].cmdline);
	if (st)
		tb_json_str(tb, st->cmdline, 4096);
	else
		tb_str(tb, "null");
	if (u->eof_seen)
		put_json_stack(tb, "eof_stack", tl_stacks_get(stacks, u->eof_stack));
	put_json_threads(tb, g, stacks, threads);
	tb_str(tb, "}\n");
}

static void text_frames(struct tl_textbuf *tb, const struct tl_stack *st, const char *indent)
{
	for (int i = 0; st && i < st->nframes; i++) {
		tb_str(tb, indent);
		tb_text_str(tb, st->frames[i], SIZE_MAX);
		tb_chr(tb, '\n');
	}
}

/* "S in accept4" */
static void text_thread_state(struct tl_textbuf *tb, const struct tl_thread *th,
			      const struct tl_stack *st)
{
	const char *sys = thread_syscall(st);

	tb_text_str(tb, &th->state, 1);
	if (sys) {
		tb_str(tb, " in ");
		tb_text_str(tb, sys, 64);
	}
}

/* The first thread in full, the others on a line each: their innermost
 * Python frame, else their innermost frame. */
static void text_threads(struct tl_textbuf *tb, const struct tl_leak_group *g,
			 const struct tl_stacks *stacks, const struct tl_threads *threads)
{
	struct stuck s;

	group_threads(g, threads, &s);
	for (size_t i = 0; i < s.n; i++) {
		const struct tl_thread *th = s.th[i];
		const struct tl_stack *st = tl_stacks_get(stacks, th->stack);
		const struct tl_stack *py = th->pystack ? tl_stacks_get(stacks, th->pystack) : NULL;

		tb_printf(tb, "%s%" PRId32 " (", i ? "      " : "    now thread ", th->tid);
		tb_text_str(tb, th->comm, sizeof(th->comm));
		tb_str(tb, !i && s.last_first ? ", the last to use it) " : ") ");
		text_thread_state(tb, th, st);
		if (!i) {
			tb_str(tb, ":\n");
			if (py && py->nframes)
				tb_str(tb, "      python:\n");
			text_frames(tb, py, "        ");
			if (py && py->nframes && st && st->nframes)
				tb_str(tb, "      native:\n");
			text_frames(tb, st, py && py->nframes ? "        " : "      ");
			if (s.n > 1)
				tb_str(tb, "    other threads:\n");
			continue;
		}
		if (py && py->nframes)
			st = py;
		if (st && st->nframes) {
			tb_str(tb, " at ");
			tb_text_str(tb, st->frames[0], SIZE_MAX);
		}
		tb_chr(tb, '\n');
	}
	if (s.more)
		tb_printf(tb, "    and %" PRIu64 " more thread%s\n", s.more, s.more == 1 ? "" : "s");
}

/* Prose, escaped (it quotes comms), wrapped at TL_COLS_PROSE under its
 * label ("    diagnosis: "). */
static void put_wrapped_text(struct tl_textbuf *tb, const char *label, const char *s,
			     size_t max)
{
	char buf[1024];
	struct tl_textbuf t;

	tb_init_grow(&t, buf, sizeof(buf));
	tb_text_str(&t, s, max);
	tb_str(tb, label);
	tl_wrap(tb, t.buf, t.len, strlen(label), TL_COLS_PROSE, strlen(label));
	tb_chr(tb, '\n');
	tb_release(&t);
}

static void text_leak(const struct tl_output *out, struct tl_textbuf *tb,
		      const struct tl_leak_group *g, const struct tl_stacks *stacks,
		      const struct tl_threads *threads)
{
	const struct tl_stack *st = tl_stacks_get(stacks, g->stack);
	const struct tl_usage *u = &g->usage;
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];

	fmt_addr(sa, g->tuple.family, g->tuple.saddr);
	fmt_addr(da, g->tuple.family, g->tuple.daddr);
	put_text_comm(out, tb, &g->owner);
	tb_printf(tb, "%6" PRIu64 " %9.1f%s %-3s  %s:%u -> %s:%u\n", g->count,
		  (double)g->oldest_ns / NS_PER_SEC, g->oldest_exact ? " " : "+",
		  g->eof_seen ? "yes" : "no", sa, g->tuple.sport, da, g->tuple.dport);
	put_wrapped_text(tb, "    diagnosis: ", g->diagnosis, sizeof(g->diagnosis));
	if (st && st->nframes) {
		tb_printf(tb, "    made by %s() at:\n", created_name(g->created_by));
		for (int i = 0; i < st->nframes; i++) {
			tb_str(tb, "      ");
			tb_text_str(tb, st->frames[i], SIZE_MAX);
			tb_chr(tb, '\n');
		}
	} else {
		tb_printf(tb, "    made by: %s\n", g->created_by ? created_name(g->created_by) :
			  "(before tracing began)");
	}
	if (!st && u->nholders)
		st = tl_stacks_get(stacks, u->holders[0].cmdline);
	if (st && st->cmdline[0]) {
		tb_str(tb, "    command: ");
		tb_text_str(tb, st->cmdline, SIZE_MAX);
		tb_chr(tb, '\n');
	}
	for (int i = 0; i < u->nholders && i < TL_USAGE_MAX; i++) {
		tb_printf(tb, "    held by %d (", u->holders[i].pid);
		tb_text_str(tb, u->holders[i].comm, sizeof(u->holders[i].comm));
		tb_printf(tb, ") as fd %d\n", u->holders[i].fd);
	}
	text_threads(tb, g, stacks, threads);
}

void tl_output_leaks(struct tl_output *out, const struct tl_leaks *L,
		     const struct tl_stacks *stacks, const struct tl_threads *threads,
		     uint64_t ts_ns, bool final)
{
	struct line l;
	struct tl_textbuf *tb;

	if (out->fmt == TL_FMT_JSON) {
		for (uint32_t i = 0; i < L->ngroups; i++) {
			json_leak(line_start(&l), &L->groups[i], stacks, threads);
			emit(out, &l);
		}
		tb = line_start(&l);
		tb_printf(tb, "{\"type\":\"leaks\",\"ts_ns\":%" PRIu64, ts_ns);
		put_json_time(out, tb, "ts", ts_ns);
		tb_printf(tb, ",\"final\":%s,\"groups\":%" PRIu32 ",\"sockets\":%" PRIu64
			  ",\"min_age_ns\":%" PRIu64 "}\n", jbool(final), L->ngroups, L->sockets,
			  L->min_age_ns);
		emit(out, &l);
		return;
	}
	tb = line_start(&l);
	tb_chr(tb, '\n');
	put_time(out, tb, ts_ns);
	tb_printf(tb, "%s: %" PRIu64 " socket%s for %.1f s or more, %" PRIu32
		  " group%s\n", final ? "CLOSE_WAIT leaks at the end" : "CLOSE_WAIT leaks",
		  L->sockets, L->sockets == 1 ? "" : "s", (double)L->min_age_ns / NS_PER_SEC,
		  L->ngroups, L->ngroups == 1 ? "" : "s");
	if (L->ngroups)
		tb_printf(tb, "%-7s %-*s %6s %10s %-3s  %s\n", "PID",
			  out->narrow ? COMM_W_NARROW : COMM_W, "COMM", "COUNT", "OLDEST_s", "EOF",
			  "EXAMPLE (oldest)");
	emit(out, &l);
	for (uint32_t i = 0; i < L->ngroups; i++) {
		text_leak(out, line_start(&l), &L->groups[i], stacks, threads);
		emit(out, &l);
	}
}

/* ---- connect() errors and port pressure (connerr.c, ports.c write them) ---- */

void tl_output_connect_error(struct tl_output *out, const struct tl_connerr *ce)
{
	struct line l;
	struct tl_textbuf *tb = line_start(&l);

	if (out->fmt == TL_FMT_JSON) {
		tl_connerr_json(tb, ce);
	} else {
		put_time(out, tb, ce->ts_ns);
		tl_connerr_text_fit(tb, ce, out->narrow);
	}
	tb_chr(tb, '\n');
	emit_to(out->fmt == TL_FMT_CSV ? stderr : out->f, &l);
}

void tl_output_port_pressure(struct tl_output *out, const struct tl_pressure *pr, bool final)
{
	struct line l;
	struct tl_textbuf *tb = line_start(&l);

	if (out->fmt == TL_FMT_JSON) {
		tl_pressure_json(tb, pr, final);
		tb_chr(tb, '\n');
		emit(out, &l);
		return;
	}
	tl_pressure_text(tb, pr);
	emit_to(out->fmt == TL_FMT_CSV ? stderr : out->f, &l);
}
