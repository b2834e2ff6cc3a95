// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CLOSE_WAIT leak reports, in the three formats; see output.h. */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include "layout.h"
#include "leaks.h"
#include "outparts.h"
#include "stacks.h"
#include "threads.h"
#include "units.h"
#include "textbuf.h"

/* A few rows per report: printf where it reads best. */

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
		tb_printf(tb, ",\"last_user\":%s", tl_out_jbool(!i && s.last_first));
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
	tl_out_json_owner(tb, &g->owner);
	tb_printf(tb, ",\"count\":%" PRIu64 ",\"oldest_ns\":%" PRIu64 ",\"oldest_exact\":%s"
		  ",\"eof_seen\":%s,\"created_by\":\"%s\"", g->count, g->oldest_ns,
		  tl_out_jbool(g->oldest_exact), tl_out_jbool(g->eof_seen), created_name(g->created_by));
	put_json_stack(tb, "stack", st);
	put_json_procs(tb, "holders", u->holders, u->nholders);
	put_json_procs(tb, "closed_by", u->closers, u->nclosers);
	tb_str(tb, ",\"diagnosis\":");
	tb_json_str(tb, g->diagnosis, sizeof(g->diagnosis));
	tb_chr(tb, ',');
	tl_out_json_conn(tb, g->conn, &g->tuple);
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

	tl_out_fmt_addr(sa, g->tuple.family, g->tuple.saddr);
	tl_out_fmt_addr(da, g->tuple.family, g->tuple.daddr);
	tl_out_text_comm(out, tb, &g->owner);
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
	struct tl_out_line l;
	struct tl_textbuf *tb;

	if (out->fmt == TL_FMT_JSON) {
		for (uint32_t i = 0; i < L->ngroups; i++) {
			json_leak(tl_out_line_start(&l), &L->groups[i], stacks, threads);
			tl_out_emit(out, &l);
		}
		tb = tl_out_line_start(&l);
		tb_printf(tb, "{\"type\":\"leaks\",\"ts_ns\":%" PRIu64, ts_ns);
		tl_out_json_time(out, tb, "ts", ts_ns);
		tb_printf(tb, ",\"final\":%s,\"groups\":%" PRIu32 ",\"sockets\":%" PRIu64
			  ",\"min_age_ns\":%" PRIu64 "}\n", tl_out_jbool(final), L->ngroups, L->sockets,
			  L->min_age_ns);
		tl_out_emit(out, &l);
		return;
	}
	tb = tl_out_line_start(&l);
	tb_chr(tb, '\n');
	tl_out_time(out, tb, ts_ns);
	tb_printf(tb, "%s: %" PRIu64 " socket%s for %.1f s or more, %" PRIu32
		  " group%s\n", final ? "CLOSE_WAIT leaks at the end" : "CLOSE_WAIT leaks",
		  L->sockets, L->sockets == 1 ? "" : "s", (double)L->min_age_ns / NS_PER_SEC,
		  L->ngroups, L->ngroups == 1 ? "" : "s");
	if (L->ngroups)
		tb_printf(tb, "%-7s %-*s %6s %10s %-3s  %s\n", "PID",
			  out->narrow ? TL_OUT_COMM_W_NARROW : TL_OUT_COMM_W, "COMM", "COUNT", "OLDEST_s", "EOF",
			  "EXAMPLE (oldest)");
	tl_out_emit(out, &l);
	for (uint32_t i = 0; i < L->ngroups; i++) {
		text_leak(out, tl_out_line_start(&l), &L->groups[i], stacks, threads);
		tl_out_emit(out, &l);
	}
}
