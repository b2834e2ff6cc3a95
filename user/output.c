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
#include "output.h"
#include "outlane.h"
#include "outparts.h"
#include "ports.h"
#include "summary.h"
#include "textbuf.h"


struct tl_textbuf *tl_out_line_start(struct tl_out_line *l)
{
	tb_init_grow(&l->tb, l->buf, sizeof(l->buf));
	return &l->tb;
}

/* Cut short only when memory ran out: the line still ends in '\n'. */
static void end_line(struct tl_out_line *l)
{
	if (l->tb.len == l->tb.max)
		l->tb.buf[l->tb.len - 1] = '\n';
}

void tl_out_emit_to(FILE *f, struct tl_out_line *l)
{
	end_line(l);
	fwrite(l->tb.buf, 1, l->tb.len, f);
	tb_release(&l->tb);
}

void tl_out_emit(struct tl_output *out, struct tl_out_line *l)
{
	if (!out->lane) {
		tl_out_emit_to(out->f, l);
		return;
	}
	end_line(l);
	tl_outlane_text(out->lane, l->tb.buf, l->tb.len);
	tb_release(&l->tb);
}

/* CSV keeps its side reports out of the table, on stderr. */
static void emit_side(struct tl_output *out, struct tl_out_line *l)
{
	if (out->fmt == TL_FMT_CSV)
		tl_out_emit_to(stderr, l);
	else
		tl_out_emit(out, l);
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

void tl_output_drain(struct tl_output *out)
{
	if (out->lane)
		tl_outlane_drain(out->lane);
}

void tl_output_flush(struct tl_output *out)
{
	tl_output_drain(out);
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
void tl_out_json_time(struct tl_output *out, struct tl_textbuf *tb, const char *key,
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
size_t tl_out_fmt_addr(char buf[INET6_ADDRSTRLEN], uint8_t family, const uint8_t *addr)
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

const char *tl_out_jbool(bool b)
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

void tl_out_json_conn(struct tl_textbuf *tb, uint64_t conn, const struct tl_tuple *tp)
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

void tl_out_json_owner(struct tl_textbuf *tb, const struct tl_owner *o)
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
	tl_out_json_time(out, tb, "ts", t->ts_ns);
	tb_chr(tb, ',');
	tl_out_json_conn(tb, t->conn, &t->tuple);
	tb_str(tb, ",\"old\":\"");
	tb_str(tb, state_name(t->old_state));
	tb_str(tb, "\",\"new\":\"");
	tb_str(tb, state_name(t->new_state));
	tb_str(tb, "\",\"in_old_ns\":");
	tb_u64(tb, t->in_old_ns);
	tb_chr(tb, ',');
	tl_out_json_owner(tb, &t->owner);
	tl_out_json_cgroup(out, tb, t->cgroup);
	tb_str(tb, "}\n");
}

static void json_lifecycle(struct tl_output *out, struct tl_textbuf *tb,
			   const struct tl_lifecycle *lc)
{
	int i;

	tb_str(tb, "{\"type\":\"lifecycle\",");
	tl_out_json_conn(tb, lc->conn, &lc->tuple);
	tb_chr(tb, ',');
	tl_out_json_owner(tb, &lc->owner);
	put_json_u64(tb, "start_ns", lc->start_ns);
	tl_out_json_time(out, tb, "start_ts", lc->start_ns);
	put_json_u64(tb, "end_ns", lc->end_ns);
	tl_out_json_time(out, tb, "end_ts", lc->end_ns);
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
	put_json_word(tb, "complete", tl_out_jbool(lc->complete));
	put_json_word(tb, "seeded", tl_out_jbool(lc->seeded));
	put_json_word(tb, "start_exact", tl_out_jbool(lc->start_exact));
	put_json_word(tb, "gap", tl_out_jbool(lc->gap));
	put_json_word(tb, "evicted", tl_out_jbool(lc->evicted));
	tl_out_json_cgroup(out, tb, lc->cgroup);
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

static void csv_header(const struct tl_output *out, struct tl_textbuf *tb)
{
	tb_str(tb, "conn,family,saddr,sport,daddr,dport,netns,pid,comm,start_ns,end_ns,"
	       "duration_ns,fin_wait2_ns,close_wait_ns,time_wait_ns,end,complete,seeded,"
	       "start_exact,gap,evicted,path");
	for (size_t i = 0; i < sizeof(csv_states) / sizeof(csv_states[0]); i++) {
		tb_str(tb, ",in_");
		tb_str(tb, state_name(csv_states[i]));
		tb_str(tb, "_ns");
	}
	/* appended, and only when asked for: scripts count columns */
	tb_str(tb, out->show_cgroup ? ",start_ts,end_ts,cgroup,container\n" : ",start_ts,end_ts\n");
}

/*
 * comm is the only free text, and any process sets its own: control
 * bytes become '?', and a cell a spreadsheet would take for a formula
 * (= + - @ first) gets a leading ' inside quotes.  Quoted when needed.
 */
void tl_out_csv_str(struct tl_textbuf *tb, const char *s, size_t max)
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
		tl_out_csv_str(tb, lc->owner.comm, sizeof(lc->owner.comm));
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
	put_csv_word(tb, tl_out_jbool(lc->complete));
	put_csv_word(tb, tl_out_jbool(lc->seeded));
	put_csv_word(tb, tl_out_jbool(lc->start_exact));
	put_csv_word(tb, tl_out_jbool(lc->gap));
	put_csv_word(tb, tl_out_jbool(lc->evicted));
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
	if (out->show_cgroup)
		tl_out_csv_cgroup(out, tb, lc->cgroup);
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

/* -C: the width the row's last column is padded to before CGROUP. */
static int last_col_w(const struct tl_output *out, bool transition)
{
	if (transition)
		return out->narrow ? DUR_W : 10;	/* AFTER, MS */
	return out->narrow ? 15 : 16;	/* "connect_failed*", "SS>ES>FW1>FW2>TW" */
}

/* The columns every row starts with, up to the endpoints; conn (CONN)
 * only for transitions. */
static void put_header(struct tl_output *out, struct tl_textbuf *tb, bool conn, const char *tail)
{
	const char *last = strrchr(tail, ' ');
	size_t col;

	put_col(tb, "TIME", out->narrow ? -8 : -12);
	if (conn)
		put_col(tb, "CONN", -5);
	put_col(tb, "PID", -7);
	put_col(tb, "COMM", out->narrow ? -TL_OUT_COMM_W_NARROW : -TL_OUT_COMM_W);
	if (out->netns_col)
		put_col(tb, "NETNS", -10);
	if (out->narrow) {
		put_col(tb, "LPORT", -5);
		put_col(tb, "REMOTE", -ep_w(out));
	} else {
		put_col(tb, "LOCAL", -ep_w(out));
		put_col(tb, "REMOTE", -ep_w(out));
	}
	col = tb->len + (last ? (size_t)(last - tail) + 1 : 0);
	tb_str(tb, tail);
	if (out->show_cgroup) {
		while (tb->len < col + (size_t)last_col_w(out, conn))
			tb_chr(tb, ' ');
		tb_str(tb, " CGROUP");
	}
	tb_chr(tb, '\n');
	out->header_done = true;
}

/* HH:MM:SS.mmm (narrow: HH:MM:SS), local time. */
void tl_out_time(struct tl_output *out, struct tl_textbuf *tb, uint64_t boot_ns)
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

void tl_out_text_comm(const struct tl_output *out, struct tl_textbuf *tb,
			  const struct tl_owner *o)
{
	int w = out->narrow ? TL_OUT_COMM_W_NARROW : TL_OUT_COMM_W;

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
	tl_out_time(out, tb, ts_ns);
	if (conn) {
		tb_u64_w(tb, *conn, -5);
		tb_chr(tb, ' ');
	}
	tl_out_text_comm(out, tb, o);
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
	size_t col;

	note_netns(out, t->tuple.netns);
	if (!out->header_done)
		put_header(out, tb, true, out->narrow ? "OLD -> NEW AFTER"
						      : "OLDSTATE    -> NEWSTATE    MS");
	put_text_conn(out, tb, t->ts_ns, &t->conn, &t->owner, &t->tuple);
	if (out->narrow) {
		tb_str_w(tb, state_abbrev(t->old_state), -3);
		tb_str(tb, " -> ");
		put_col(tb, state_abbrev(t->new_state), -3);
		col = tb->len;
		tb_dur(tb, t->in_old_ns, DUR_W);
	} else {
		tb_str_w(tb, state_name(t->old_state), -11);
		tb_str(tb, " -> ");
		put_col(tb, state_name(t->new_state), -11);
		col = tb->len;
		tb_ms(tb, t->in_old_ns, 0);
	}
	if (out->show_cgroup)
		tl_out_text_cgroup(out, tb, col, last_col_w(out, true), t->cgroup);
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
	size_t col;

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
		col = tb->len;
		tb_mem(tb, end, e.len);
		if (out->show_cgroup)
			tl_out_text_cgroup(out, tb, col, last_col_w(out, false), lc->cgroup);
		tb_chr(tb, '\n');
		return;
	}
	put_linger(tb, lc, TL_TCP_FIN_WAIT2, lc->fin_wait2_ns);
	put_linger(tb, lc, TL_TCP_CLOSE_WAIT, lc->close_wait_ns);
	put_linger(tb, lc, TL_TCP_TIME_WAIT, lc->time_wait_ns);
	tb_mem_w(tb, end, e.len, -10);
	tb_chr(tb, ' ');
	col = tb->len;
	for (int i = 0; i < lc->nstates && i <= TL_MAX_PATH; i++) {
		if (lc->states[i].state == TL_STATE_CLOSED)
			continue;
		if (!first)
			tb_chr(tb, '>');
		tb_str(tb, state_abbrev(lc->states[i].state));
		first = false;
	}
	if (out->show_cgroup)
		tl_out_text_cgroup(out, tb, col, last_col_w(out, false), lc->cgroup);
	tb_chr(tb, '\n');
}

/* ---- entry points ---- */

void tl_output_transition(struct tl_output *out, const struct tl_transition *t)
{
	struct tl_out_line l;
	struct tl_textbuf *tb = tl_out_line_start(&l);

	if (out->fmt == TL_FMT_JSON)
		json_transition(out, tb, t);
	else if (out->fmt == TL_FMT_TEXT)
		text_transition(out, tb, t);
	else
		return;	/* CSV rows are lifecycles */
	tl_out_emit(out, &l);
}

void tl_output_lifecycle(struct tl_output *out, const struct tl_lifecycle *lc)
{
	struct tl_out_line l;
	struct tl_textbuf *tb;

	if (out->fmt == TL_FMT_TEXT && out->transitions && !out->at_end)
		return;
	if (out->lane) {
		tl_outlane_lifecycle(out->lane, lc);
		return;
	}
	tb = tl_out_line_start(&l);
	if (out->fmt == TL_FMT_JSON) {
		json_lifecycle(out, tb, lc);
	} else if (out->fmt == TL_FMT_CSV) {
		if (!out->header_done) {
			csv_header(out, tb);
			out->header_done = true;
		}
		csv_lifecycle(out, tb, lc);
	} else {
		text_lifecycle(out, tb, lc);
	}
	tl_out_emit(out, &l);
}

void tl_output_at_end(struct tl_output *out)
{
	struct tl_out_line l;

	out->at_end = true;
	if (out->fmt != TL_FMT_TEXT || !out->transitions)
		return;
	tb_str(tl_out_line_start(&l), "\nStill open at the end of the trace:\n");
	tl_out_emit(out, &l);
	out->header_done = false;
}

void tl_output_summary(struct tl_output *out, const struct tl_summary *sum, uint64_t ts_ns,
		       uint64_t span_ns, bool final, uint64_t lost, uint64_t evicted,
		       const struct tl_opensum *open)
{
	struct tl_out_line l;
	struct tl_textbuf *tb = tl_out_line_start(&l);
	char title[96];

	if (out->fmt == TL_FMT_JSON) {
		char iso[48];
		struct tl_textbuf t;

		tb_init(&t, iso, sizeof(iso));
		put_iso_time(out, &t, ts_ns);
		tl_summary_json(tb, sum, ts_ns, tb_cstr(&t), span_ns, final, lost, evicted, open);
		tl_out_emit(out, &l);
		return;
	}
	snprintf(title, sizeof(title), final ? "Summary of the whole trace (%.1f s)"
					     : "Summary of the last %.1f s",
		 (double)span_ns / NS_PER_SEC);
	tb_chr(tb, '\n');
	tl_summary_text(tb, sum, title, lost, evicted, open);
	emit_side(out, &l);
	if (out->fmt == TL_FMT_TEXT)
		out->header_done = false;	/* repeat the header after it */
}

/* ---- connect() errors and port pressure (connerr.c, ports.c write them) ---- */

void tl_output_connect_error(struct tl_output *out, const struct tl_connerr *ce)
{
	struct tl_out_line l;
	struct tl_textbuf *tb = tl_out_line_start(&l);

	if (out->fmt == TL_FMT_JSON) {
		tl_connerr_json(tb, ce);
	} else {
		tl_out_time(out, tb, ce->ts_ns);
		tl_connerr_text_fit(tb, ce, out->narrow);
	}
	tb_chr(tb, '\n');
	emit_side(out, &l);
}

void tl_output_port_pressure(struct tl_output *out, const struct tl_pressure *pr, bool final)
{
	struct tl_out_line l;
	struct tl_textbuf *tb = tl_out_line_start(&l);

	if (out->fmt == TL_FMT_JSON) {
		tl_pressure_json(tb, pr, final);
		tb_chr(tb, '\n');
		tl_out_emit(out, &l);
		return;
	}
	tl_pressure_text(tb, pr);
	emit_side(out, &l);
}
