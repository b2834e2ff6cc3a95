/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a holder is stuck: a thread of this process blocked in read(),
 * read from /proc and unwound from its sp and pc as a holder scan does;
 * syscall names; and the report's store of TL_EV_THREAD events. */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "proctask.h"
#include "threads.h"
#include "unwind.h"
#include "unit.h"

static int gate[2];

static __attribute__((noinline)) void blocked_reader(void)
{
	char c;

	/* syscall(), not read(): the sanitizers' read() interceptor makes
	 * frames whose CFI needs rbp, which sp and pc alone do not give */
	if (syscall(SYS_read, gate[0], &c, 1) < 0)
		abort();
	__asm__ volatile("" ::: "memory");	/* no tail call: this frame stays */
}

static void *reader(void *arg)
{
	*(volatile pid_t *)arg = gettid();
	blocked_reader();
	return NULL;
}

/* Until tid sits in read(): false after 5 s. */
static bool wait_blocked(pid_t tid, struct tl_task_now *t)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 5000; i++) {
		if (!tl_task_now(getpid(), tid, t) && t->syscall == 0 && t->regs_known)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

static void test_blocked_thread(void)
{
	volatile pid_t tid = 0;
	struct tl_symbolizer *sym = tl_sym_new();
	struct tl_unwinder *u = tl_unwind_new(sym, -1, -1);
	struct tl_uwin *w = calloc(1, sizeof(*w));
	char *frames[TL_UNWIND_FRAMES];
	struct tl_task_now t;
	int32_t *tids;
	size_t ntids;
	bool found = false;
	pthread_t th;
	int n = 0;

	CHECK(sym && u && w && !pipe(gate));
	CHECK(!pthread_create(&th, NULL, reader, (void *)&tid));
	while (!tid)
		sched_yield();
	CHECK(wait_blocked(tid, &t));
	CHECK_EQ_U64(t.state, 'S');
	CHECK_EQ_U64(t.tid, tid);
	CHECK(!tl_task_list(getpid(), &tids, &ntids));
	for (size_t i = 0; i < ntids; i++)
		found |= tids[i] == tid;
	CHECK(found && ntids == 2 && tids[0] == getpid());
	free(tids);
	/* this thread runs (its syscall reads as the read of that file) */
	CHECK(!tl_task_now(getpid(), gettid(), &t));
	CHECK_EQ_U64(t.state, 'R');
	w->pid = (uint32_t)getpid();
	w->tid = (uint32_t)tid;
	CHECK(wait_blocked(tid, &t));
	w->regs[7] = t.sp;
	w->regs[16] = t.pc;
	w->len = (uint32_t)tl_task_stack(getpid(), t.sp, w->data, sizeof(w->data));
	CHECK(w->len > 256);
	n = tl_unwind_blocked(u, w, frames);
	CHECK(n >= 3);
	if (n >= 3) {
		/* the wrapper folded, then the function that called it (with
		 * frame pointers, as the sanitizers' build, from a guessed rbp) */
		CHECK_STR(frames[0], "syscall (libc.so.6)");
		CHECK(!strncmp(frames[1], "blocked_reader+0x", 17));
		CHECK(!strncmp(frames[2], "reader+0x", 9));
	}
	for (int i = 0; i < n; i++)
		free(frames[i]);
	CHECK_EQ_U64(write(gate[1], "g", 1), 1);
	pthread_join(th, NULL);
	free(w);
	tl_unwind_free(u);
	tl_sym_free(sym);
}

static void test_syscall_names(void)
{
	char buf[32];

	CHECK_STR(tl_syscall_name(288, buf, sizeof(buf)), "accept4");
	CHECK_STR(tl_syscall_name(202, buf, sizeof(buf)), "futex");
	CHECK_STR(tl_syscall_name(9999, buf, sizeof(buf)), "syscall_9999");
}

static struct tl_event thread_ev(uint32_t pid, uint32_t tid, uint32_t stack, uint32_t py)
{
	struct tl_event ev = { .type = TL_EV_THREAD, .pid = pid, .tid = tid, .new_state = 'S',
			       .flags = TL_F_IN_TASK, .aux = (uint64_t)py << 32 | stack };

	memcpy(ev.comm, "srv", 4);
	return ev;
}

static void test_store(void)
{
	struct tl_threads T = { 0 };
	struct tl_event scan = { .type = TL_EV_SCAN }, ev;
	const struct tl_thread *out[TL_THREADS_SHOWN];
	uint64_t more;

	ev = thread_ev(10, 10, 1, 0);
	tl_threads_feed(&T, &ev);
	ev = thread_ev(10, 11, 2, 3);
	tl_threads_feed(&T, &ev);
	ev = thread_ev(20, 20, 4, 0);
	tl_threads_feed(&T, &ev);
	ev = thread_ev(10, 0, 0, 0);
	ev.aux = 5;	/* five more threads not listed */
	tl_threads_feed(&T, &ev);
	/* the one asked for first, then the scan's order */
	CHECK_EQ_U64(tl_threads_of(&T, 10, 11, out, TL_THREADS_SHOWN, &more), 2);
	CHECK_EQ_U64(out[0]->tid, 11);
	CHECK_EQ_U64(out[0]->stack, 2);
	CHECK_EQ_U64(out[0]->pystack, 3);
	CHECK_EQ_U64(out[0]->state, 'S');
	CHECK_STR(out[0]->comm, "srv");
	CHECK_EQ_U64(out[1]->tid, 10);
	CHECK_EQ_U64(more, 5);
	CHECK_EQ_U64(tl_threads_of(&T, 20, 0, out, 1, &more), 1);
	CHECK_EQ_U64(more, 0);
	CHECK_EQ_U64(tl_threads_of(&T, 30, 0, out, 1, &more), 0);
	/* a new scan forgets the old one */
	tl_threads_feed(&T, &scan);
	CHECK_EQ_U64(tl_threads_of(&T, 10, 0, out, TL_THREADS_SHOWN, &more), 0);
	CHECK_EQ_U64(more, 0);
	tl_threads_free(&T);
}

int main(void)
{
#if defined(__x86_64__)
	RUN(test_blocked_thread);
#endif
	RUN(test_syscall_names);
	RUN(test_store);
	return UNIT_END();
}
