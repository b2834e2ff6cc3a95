// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Transition and lifecycle writers; see output.h. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "units.h"
#include "leaks.h"
#include "output.h"
#include "stacks.h"


#define ADDR_W		21	/* "255.255.255.255" with room to spare */
#define ADDR_W_WIDE	39	/* a full IPv6 address */

/* One output line; the longest (a leak group in JSON, stack and all) is
 * well under 16 KiB. */
struct line {
	char buf[16384];
	size_t len;
};

static void put(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	size_t room = sizeof(l->buf) - l->len;
	va_list ap;
	int n;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Truncated: keep what fits, the line still ends in '\n' below. */
	l->len += (size_t)n < room ? (size_t)n : room - 1;
}

static void emit(struct tl_output *out, struct line *l)
{
	if (l->len == sizeof(l->buf) - 1)
		l->buf[l->len - 1] = '\n';
	fwrite(l->buf, 1, l->len, out->f);
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
	return ts_ns(CLOCK_REALTIME) - ts_ns(CLOCK_BOOTTIME);
}

void tl_output_flush(struct tl_output *out)
{
	fflush(out->f);
}

/* ---- shared bits ---- */

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

static void fmt_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr)
{
	int af = family == AF_INET6 ? AF_INET6 : AF_INET;

	if ((family != AF_INET && family != AF_INET6) ||
	    !inet_ntop(af, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
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

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong, surrogate or beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* comm may be anything a task set with prctl(PR_SET_NAME): escape it so
 * the line stays valid JSON; stray non-UTF-8 bytes read as Latin-1. */
static void put_json_str(struct line *l, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), i, k;

	put(l, "\"");
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			put(l, "\\%c", c);
		} else if (c < 0x20 || c == 0x7f) {
			put(l, "\\u%04x", c);
		} else if (c < 0x80) {
			put(l, "%c", c);
		} else if ((k = utf8_seq(p + i, n - i))) {
			put(l, "%.*s", (int)k, (const char *)p + i);
			i += k - 1;
		} else {
			put(l, "\\u%04x", c);
		}
	}
	put(l, "\"");
}

static void put_json_conn(struct line *l, uint64_t conn, const struct tl_tuple *tp)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];

	fmt_addr(sa, sizeof(sa), tp->family, tp->saddr);
	fmt_addr(da, sizeof(da), tp->family, tp->daddr);
	put(l, "\"conn\":%" PRIu64 ",\"family\":\"%s\",\"saddr\":\"%s\",\"sport\":%u,"
	    "\"daddr\":\"%s\",\"dport\":%u,\"netns\":%" PRIu32,
	    conn, family_name(tp->family), sa, tp->sport, da, tp->dport, tp->netns);
}

static void put_json_owner(struct line *l, const struct tl_owner *o)
{
	if (o->pid < 0) {
		put(l, "\"pid\":null,\"comm\":null");
		return;
	}
	put(l, "\"pid\":%" PRId32 ",\"comm\":", o->pid);
	put_json_str(l, o->comm, sizeof(o->comm));
}

static void json_transition(struct line *l, const struct tl_transition *t)
{
	put(l, "{\"type\":\"transition\",\"ts_ns\":%" PRIu64 ",", t->ts_ns);
	put_json_conn(l, t->conn, &t->tuple);
	put(l, ",\"old\":\"%s\",\"new\":\"%s\",\"in_old_ns\":%" PRIu64 ",",
	    state_name(t->old_state), state_name(t->new_state), t->in_old_ns);
	put_json_owner(l, &t->owner);
	put(l, "}\n");
}

static const char *jbool(bool b)
{
	return b ? "true" : "false";
}

static void json_lifecycle(struct line *l, const struct tl_lifecycle *lc)
{
	int i;

	put(l, "{\"type\":\"lifecycle\",");
	put_json_conn(l, lc->conn, &lc->tuple);
	put(l, ",");
	put_json_owner(l, &lc->owner);
	put(l, ",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"duration_ns\":%"
	    PRIu64 ",\"states\":[", lc->start_ns, lc->end_ns,
	    lc->end_ns > lc->start_ns ? lc->end_ns - lc->start_ns : 0);
	for (i = 0; i < lc->nstates && i <= TL_MAX_PATH; i++)
		put(l, "%s{\"state\":\"%s\",\"ns\":%" PRIu64 "}", i ? "," : "",
		    state_name(lc->states[i].state), lc->states[i].ns);
	put(l, "],\"fin_wait2_ns\":%" PRIu64 ",\"close_wait_ns\":%" PRIu64
	    ",\"time_wait_ns\":%" PRIu64 ",\"end\":\"%s\",\"complete\":%s"
	    ",\"seeded\":%s,\"start_exact\":%s,\"gap\":%s,\"evicted\":%s}\n",
	    lc->fin_wait2_ns, lc->close_wait_ns, lc->time_wait_ns,
	    end_name(lc->end), jbool(lc->complete), jbool(lc->seeded),
	    jbool(lc->start_exact), jbool(lc->gap), jbool(lc->evicted));
}

/* ---- CSV (RFC 4180) ---- */

/* The states a lifecycle can pass, one column each, in the order a
 * connection meets them. */
static const int csv_states[] = {
	TL_TCP_SYN_SENT, TL_TCP_SYN_RECV, TL_TCP_ESTABLISHED, TL_TCP_FIN_WAIT1,
	TL_TCP_FIN_WAIT2, TL_TCP_CLOSING, TL_TCP_TIME_WAIT, TL_TCP_CLOSE_WAIT,
	TL_TCP_LAST_ACK, TL_TCP_LISTEN,
};

static void csv_header(struct line *l)
{
	put(l, "conn,family,saddr,sport,daddr,dport,netns,pid,comm,start_ns,end_ns,"
	    "duration_ns,fin_wait2_ns,close_wait_ns,time_wait_ns,end,complete,seeded,"
	    "start_exact,gap,evicted,path");
	for (size_t i = 0; i < sizeof(csv_states) / sizeof(csv_states[0]); i++)
		put(l, ",%s_ns", state_name(csv_states[i]));
	put(l, "\n");
}

/* comm is the only free text: quote it when it needs quoting. */
static void put_csv_str(struct line *l, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) &&
	    !memchr(s, '\r', n)) {
		put(l, "%.*s", (int)n, s);
		return;
	}
	put(l, "\"");
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			put(l, "\"");	/* a quote is written twice */
		put(l, "%c", s[i]);
	}
	put(l, "\"");
}

static void csv_lifecycle(struct line *l, const struct tl_lifecycle *lc)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	const struct tl_tuple *tp = &lc->tuple;
	uint64_t ns[TL_STATE_CLOSED + 1] = { 0 };
	int i;

	fmt_addr(sa, sizeof(sa), tp->family, tp->saddr);
	fmt_addr(da, sizeof(da), tp->family, tp->daddr);
	put(l, "%" PRIu64 ",%s,%s,%u,%s,%u,%" PRIu32 ",", lc->conn,
	    family_name(tp->family), sa, tp->sport, da, tp->dport, tp->netns);
	if (lc->owner.pid >= 0) {
		put(l, "%" PRId32 ",", lc->owner.pid);
		put_csv_str(l, lc->owner.comm, sizeof(lc->owner.comm));
	} else {
		put(l, ",");
	}
	put(l, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
	    ",%s,%s,%s,%s,%s,%s,", lc->start_ns, lc->end_ns,
	    lc->end_ns > lc->start_ns ? lc->end_ns - lc->start_ns : 0,
	    lc->fin_wait2_ns, lc->close_wait_ns, lc->time_wait_ns, end_name(lc->end),
	    jbool(lc->complete), jbool(lc->seeded), jbool(lc->start_exact),
	    jbool(lc->gap), jbool(lc->evicted));
	for (i = 0; i < lc->nstates && i <= TL_MAX_PATH; i++) {
		int st = lc->states[i].state;

		put(l, "%s%s", i ? ">" : "", state_name(st));
		if (st >= 0 && st <= TL_STATE_CLOSED)
			ns[st] += lc->states[i].ns;
	}
	for (size_t k = 0; k < sizeof(csv_states) / sizeof(csv_states[0]); k++)
		put(l, ",%" PRIu64, ns[csv_states[k]]);
	put(l, "\n");
}

/* ---- text ---- */

static int addr_w(const struct tl_output *out)
{
	return out->wide ? ADDR_W_WIDE : ADDR_W;
}

static void put_ms(struct line *l, int width, uint64_t ns)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64 ".%03" PRIu64, ns / NS_PER_MS,
		 ns % NS_PER_MS / NS_PER_US);
	put(l, "%*s", width, buf);
}

static void put_header(struct tl_output *out, struct line *l, const char *tail)
{
	int w = addr_w(out);

	put(l, "%-12s %-4s %-7s %-16s %-*s %-5s %-*s %-5s %s\n", "TIME", "CONN",
	    "PID", "COMM", w, "LADDR", "LPORT", w, "RADDR", "RPORT", tail);
	out->header_done = true;
}

/* HH:MM:SS.mmm, local time. */
static void put_time(const struct tl_output *out, struct line *l, uint64_t boot_ns)
{
	int64_t real = (int64_t)boot_ns + out->boot_to_real_ns;
	time_t sec;
	struct tm tm;

	if (real < 0)
		real = 0;
	sec = (time_t)(real / (int64_t)NS_PER_SEC);
	if (!localtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	put(l, "%02d:%02d:%02d.%03d ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(real % (int64_t)NS_PER_SEC / (int64_t)NS_PER_MS));
}

static void put_text_comm(struct line *l, const struct tl_owner *o)
{
	char comm[TL_COMM_LEN + 1];
	size_t i, n;

	if (o->pid < 0) {
		put(l, "%-7s %-16s ", "-", "-");
		return;
	}
	/* Keep the terminal sane: printable ASCII only (a raw 0x9b would be
	 * a control sequence introducer). */
	n = strnlen(o->comm, TL_COMM_LEN);
	for (i = 0; i < n; i++)
		comm[i] = (unsigned char)o->comm[i] < 0x20 || (unsigned char)o->comm[i] >= 0x7f ?
			  '?' : o->comm[i];
	comm[n] = '\0';
	put(l, "%-7" PRId32 " %-16s ", o->pid, n ? comm : "-");
}

static void put_text_conn(const struct tl_output *out, struct line *l,
			  uint64_t conn, const struct tl_owner *o,
			  const struct tl_tuple *tp)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int w = addr_w(out);

	fmt_addr(sa, sizeof(sa), tp->family, tp->saddr);
	fmt_addr(da, sizeof(da), tp->family, tp->daddr);
	put(l, "%-4" PRIu64 " ", conn);
	put_text_comm(l, o);
	put(l, "%-*s %-5u %-*s %-5u ", w, sa, tp->sport, w, da, tp->dport);
}

static void text_transition(struct tl_output *out, struct line *l,
			    const struct tl_transition *t)
{
	if (!out->header_done)
		put_header(out, l, "OLDSTATE    -> NEWSTATE    MS");
	put_time(out, l, t->ts_ns);
	put_text_conn(out, l, t->conn, &t->owner, &t->tuple);
	put(l, "%-11s -> %-11s ", state_name(t->old_state), state_name(t->new_state));
	put_ms(l, 0, t->in_old_ns);
	put(l, "\n");
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

static void put_linger(struct line *l, const struct tl_lifecycle *lc, int state,
		       uint64_t ns, int width)
{
	if (visited(lc, state, ns))
		put_ms(l, width, ns);
	else
		put(l, "%*s", width, "-");
	put(l, " ");
}

static void text_lifecycle(struct tl_output *out, struct line *l,
			   const struct tl_lifecycle *lc)
{
	char end[32];
	bool first = true;
	int i;

	if (!out->header_done)
		put_header(out, l, "FIN_WAIT2_ms CLOSE_WAIT_ms TIME_WAIT_ms END         STATES");
	put_time(out, l, lc->end_ns);
	put_text_conn(out, l, lc->conn, &lc->owner, &lc->tuple);
	put_linger(l, lc, TL_TCP_FIN_WAIT2, lc->fin_wait2_ns, 12);
	put_linger(l, lc, TL_TCP_CLOSE_WAIT, lc->close_wait_ns, 13);
	put_linger(l, lc, TL_TCP_TIME_WAIT, lc->time_wait_ns, 12);
	snprintf(end, sizeof(end), "%s%s", end_name(lc->end), lc->complete ? "" : "*");
	put(l, "%-11s ", end);
	for (i = 0; i < lc->nstates && i <= TL_MAX_PATH; i++) {
		if (lc->states[i].state == TL_STATE_CLOSED)
			continue;
		put(l, "%s%s", first ? "" : ">", state_abbrev(lc->states[i].state));
		first = false;
	}
	put(l, "\n");
}

/* ---- entry points ---- */

void tl_output_transition(struct tl_output *out, const struct tl_transition *t)
{
	struct line l;

	l.len = 0;	/* no need to clear the buffer per row */

	if (out->fmt == TL_FMT_JSON)
		json_transition(&l, t);
	else if (out->fmt == TL_FMT_TEXT)
		text_transition(out, &l, t);
	else
		return;	/* CSV rows are lifecycles */
	emit(out, &l);
}

void tl_output_lifecycle(struct tl_output *out, const struct tl_lifecycle *lc)
{
	struct line l;

	l.len = 0;	/* no need to clear the buffer per row */

	if (out->fmt == TL_FMT_JSON) {
		json_lifecycle(&l, lc);
	} else if (out->fmt == TL_FMT_CSV) {
		if (!out->header_done) {
			csv_header(&l);
			out->header_done = true;
		}
		csv_lifecycle(&l, lc);
	} else {
		text_lifecycle(out, &l, lc);
	}
	emit(out, &l);
}

/* ---- leak reports ---- */

static const char *created_name(uint8_t role)
{
	return role == TL_OWN_CONNECT ? "connect" : role == TL_OWN_ACCEPT ? "accept" : "unknown";
}

static void put_json_procs(struct line *l, const char *key, const struct tl_proc_fd *p, int n)
{
	put(l, ",\"%s\":[", key);
	for (int i = 0; i < n && i < TL_USAGE_MAX; i++) {
		put(l, "%s{\"pid\":%" PRId32 ",\"comm\":", i ? "," : "", p[i].pid);
		put_json_str(l, p[i].comm, sizeof(p[i].comm));
		put(l, ",\"fd\":%" PRId32 "}", p[i].fd);
	}
	put(l, "]");
}

static void put_json_stack(struct line *l, const char *key, const struct tl_stack *st)
{
	put(l, ",\"%s\":[", key);
	for (int i = 0; st && i < st->nframes; i++) {
		put(l, "%s", i ? "," : "");
		put_json_str(l, st->frames[i], 512);
	}
	put(l, "]");
}

static void json_leak(struct line *l, const struct tl_leak_group *g, const struct tl_stacks *stacks)
{
	const struct tl_stack *st = tl_stacks_get(stacks, g->stack);
	const struct tl_usage *u = &g->usage;

	put(l, "{\"type\":\"leak\",");
	put_json_owner(l, &g->owner);
	put(l, ",\"count\":%" PRIu64 ",\"oldest_ns\":%" PRIu64 ",\"oldest_exact\":%s"
	    ",\"eof_seen\":%s,\"created_by\":\"%s\"", g->count, g->oldest_ns,
	    jbool(g->oldest_exact), jbool(g->eof_seen), created_name(g->created_by));
	put_json_stack(l, "stack", st);
	put_json_procs(l, "holders", u->holders, u->nholders);
	put_json_procs(l, "closed_by", u->closers, u->nclosers);
	put(l, ",\"diagnosis\":");
	put_json_str(l, g->diagnosis, sizeof(g->diagnosis));
	put(l, ",");
	put_json_conn(l, g->conn, &g->tuple);
	put(l, ",\"cmdline\":");
	if (!st && u->nholders)
		st = tl_stacks_get(stacks, u->holders[0].cmdline);
	if (st)
		put_json_str(l, st->cmdline, 4096);
	else
		put(l, "null");
	if (u->eof_seen)
		put_json_stack(l, "eof_stack", tl_stacks_get(stacks, u->eof_stack));
	put(l, "}\n");
}

static void text_leak(const struct tl_output *out, struct line *l, const struct tl_leak_group *g,
		      const struct tl_stacks *stacks)
{
	const struct tl_stack *st = tl_stacks_get(stacks, g->stack);
	const struct tl_usage *u = &g->usage;
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];

	fmt_addr(sa, sizeof(sa), g->tuple.family, g->tuple.saddr);
	fmt_addr(da, sizeof(da), g->tuple.family, g->tuple.daddr);
	put_text_comm(l, &g->owner);
	put(l, "%6" PRIu64 " %9.1f%s %-3s  %s:%u -> %s:%u\n", g->count,
	    (double)g->oldest_ns / NS_PER_SEC, g->oldest_exact ? " " : "+",
	    g->eof_seen ? "yes" : "no", sa, g->tuple.sport, da, g->tuple.dport);
	put(l, "    diagnosis: %s\n", g->diagnosis);
	if (st && st->nframes) {
		put(l, "    made by %s() at:\n", created_name(g->created_by));
		for (int i = 0; i < st->nframes; i++)
			put(l, "      %s\n", st->frames[i]);
	} else {
		put(l, "    made by: %s\n", g->created_by ? created_name(g->created_by) :
			"(before tracing began)");
	}
	if (!st && u->nholders)
		st = tl_stacks_get(stacks, u->holders[0].cmdline);
	if (st && st->cmdline[0])
		put(l, "    command: %s\n", st->cmdline);
	for (int i = 0; i < u->nholders && i < TL_USAGE_MAX; i++)
		put(l, "    held by %d (%s) as fd %d\n", u->holders[i].pid, u->holders[i].comm,
		    u->holders[i].fd);
	(void)out;
}

void tl_output_leaks(struct tl_output *out, const struct tl_leaks *L,
		     const struct tl_stacks *stacks, uint64_t ts_ns, bool final)
{
	struct line l;

	if (out->fmt == TL_FMT_JSON) {
		for (uint32_t i = 0; i < L->ngroups; i++) {
			l.len = 0;
			json_leak(&l, &L->groups[i], stacks);
			emit(out, &l);
		}
		l.len = 0;
		put(&l, "{\"type\":\"leaks\",\"ts_ns\":%" PRIu64 ",\"final\":%s,\"groups\":%" PRIu32
		    ",\"sockets\":%" PRIu64 ",\"min_age_ns\":%" PRIu64 "}\n", ts_ns, jbool(final),
		    L->ngroups, L->sockets, L->min_age_ns);
		emit(out, &l);
		return;
	}
	l.len = 0;
	put(&l, "\n");
	put_time(out, &l, ts_ns);
	put(&l, "%s: %" PRIu64 " socket%s in CLOSE_WAIT for %.1f s or more, %" PRIu32
	    " group%s\n", final ? "CLOSE_WAIT leaks at the end" : "CLOSE_WAIT leaks", L->sockets,
	    L->sockets == 1 ? "" : "s", (double)L->min_age_ns / NS_PER_SEC, L->ngroups,
	    L->ngroups == 1 ? "" : "s");
	if (L->ngroups)
		put(&l, "%-7s %-16s %6s %10s %-3s  %s\n", "PID", "COMM", "COUNT", "OLDEST_s", "EOF",
		    "EXAMPLE (oldest)");
	emit(out, &l);
	for (uint32_t i = 0; i < L->ngroups; i++) {
		l.len = 0;
		text_leak(out, &l, &L->groups[i], stacks);
		emit(out, &l);
	}
}
