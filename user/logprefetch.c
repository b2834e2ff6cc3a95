/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading a transition log ahead on a thread of its own; see logprefetch.h.
 * A ring of slots, each the events of up to SLOT_READS reads and the
 * warnings met on the way, passed under a mutex and two condvars. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "grow.h"
#include "logprefetch.h"

#define SLOT_READS 16
#define SLOT_EVENTS (SLOT_READS * TL_LOGP_READ)
#define SLOTS 8		/* with ~100 KiB each: what is decoded ahead */

/* A warning of the reader's, met by the read that began at event pos. */
struct warning {
	int pos;
	size_t at;		/* its text in the slot's texts */
};

struct slot {
	struct tl_event evs[SLOT_EVENTS];
	int n;
	bool end;		/* the last slot: ret is 0 or the reader's error */
	int ret;
	uint64_t offset;	/* tl_logr_offset after its last read */
	/* A slot ends at a TL_EV_STACK: its bytes, if it has any. */
	bool has_blob;
	size_t blob_len;
	uint8_t blob[TL_LOG_BLOB_MAX];
	struct warning *warns;
	size_t nwarns, warns_cap;
	char *texts;
	size_t texts_len, texts_cap;
};

struct tl_log_prefetch {
	struct tl_log_reader *r;
	tl_log_warn_fn warn;	/* where r's warnings went */
	void *ctx;

	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t ready, room;
	int head, count;	/* the oldest filled slot, and how many are */
	bool stop, threaded;
	pthread_t thread;

	/* The reading side: the slot it fills and where the read began. */
	struct slot *filling;
	int read_pos;

	/* The caller's: the slot it is in (the head), the next event and
	 * warning there. */
	struct slot *cur;
	int next_ev;
	size_t next_warn;
};

/* On the reading side: keeps a warning for the caller to pass on.  One
 * that memory cannot be found for is lost, not the events. */
static void keep_warning(const char *msg, void *ctx)
{
	struct tl_log_prefetch *p = ctx;
	struct slot *s = p->filling;
	size_t len = strlen(msg) + 1;

	if (!tl_grow(&s->warns, &s->warns_cap, s->nwarns, sizeof(*s->warns), 16) ||
	    !tl_grow_to(&s->texts, &s->texts_cap, s->texts_len + len, 1, 256))
		return;
	memcpy(s->texts + s->texts_len, msg, len);
	s->warns[s->nwarns++] = (struct warning){ .pos = p->read_pos, .at = s->texts_len };
	s->texts_len += len;
}

/* Reads into s as the caller would, TL_LOGP_READ at a time, up to a full
 * slot, a TL_EV_STACK, the end of the log or a wait for a pipe's writer. */
static void fill_slot(struct tl_log_prefetch *p, struct slot *s)
{
	s->n = 0;
	s->end = false;
	s->nwarns = 0;
	s->texts_len = 0;
	s->has_blob = false;
	p->filling = s;
	while (s->n + TL_LOGP_READ <= SLOT_EVENTS) {
		int ret;

		p->read_pos = s->n;
		ret = tl_logr_read(p->r, s->evs + s->n, TL_LOGP_READ);
		if (ret <= 0) {
			s->end = true;
			s->ret = ret;
			break;
		}
		s->n += ret;
		if (s->evs[s->n - 1].type == TL_EV_STACK) {
			const void *blob = tl_logr_blob(p->r, &s->blob_len);

			s->has_blob = blob != NULL;
			if (s->blob_len > sizeof(s->blob))
				s->blob_len = sizeof(s->blob);
			if (blob)
				memcpy(s->blob, blob, s->blob_len);
			break;
		}
		/* What a pipe gave so far goes to the caller before waiting for more. */
		if (tl_logr_would_wait(p->r))
			break;
	}
	s->offset = tl_logr_offset(p->r);
}

/*
 * The reading thread: fills free slots until the end of the log or a
 * stop.  Cancellable only while filling, where no lock is held: a stop
 * must not wait for a read from a pipe that may never end.
 */
static void *read_ahead(void *arg)
{
	struct tl_log_prefetch *p = arg;
	bool end = false;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (!end) {
		struct slot *s;

		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->count == SLOTS)
			pthread_cond_wait(&p->room, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		s = &p->slots[(p->head + p->count) % SLOTS];
		pthread_mutex_unlock(&p->lock);

		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		fill_slot(p, s);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		end = s->end;

		pthread_mutex_lock(&p->lock);
		p->count++;
		pthread_cond_signal(&p->ready);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static struct slot *take_slot(struct tl_log_prefetch *p)
{
	struct slot *s;

	if (!p->threaded) {
		if (!p->count) {
			fill_slot(p, &p->slots[p->head]);
			p->count = 1;
		}
		return &p->slots[p->head];
	}
	pthread_mutex_lock(&p->lock);
	while (!p->count)
		pthread_cond_wait(&p->ready, &p->lock);
	s = &p->slots[p->head];
	pthread_mutex_unlock(&p->lock);
	return s;
}

static void release_slot(struct tl_log_prefetch *p)
{
	if (p->threaded)
		pthread_mutex_lock(&p->lock);
	p->head = (p->head + 1) % SLOTS;
	p->count--;
	if (p->threaded) {
		/* A reader that found the ring full waits for half of it: one
		 * wake-up per SLOTS / 2 slots, not one per slot. */
		if (p->count == SLOTS / 2)
			pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->lock);
	}
}

int tl_logp_read(struct tl_log_prefetch *p, const struct tl_event **evs)
{
	for (;;) {
		struct slot *s;
		int end;

		if (!p->cur) {
			p->cur = take_slot(p);
			p->next_ev = 0;
			p->next_warn = 0;
		}
		s = p->cur;
		while (p->next_warn < s->nwarns && s->warns[p->next_warn].pos <= p->next_ev) {
			if (p->warn)
				p->warn(s->texts + s->warns[p->next_warn].at, p->ctx);
			p->next_warn++;
		}
		if (p->next_ev < s->n) {
			/* Up to the next warning: it comes before what follows. */
			end = p->next_warn < s->nwarns ? s->warns[p->next_warn].pos : s->n;
			*evs = s->evs + p->next_ev;
			p->next_ev = end;
			return end - (int)(*evs - s->evs);
		}
		if (s->end)
			return s->ret;
		release_slot(p);
		p->cur = NULL;
	}
}

const void *tl_logp_blob(const struct tl_log_prefetch *p, size_t *len)
{
	const struct slot *s = p->cur;

	/* Only the slot's last event has one. */
	if (!s || !s->has_blob || p->next_ev != s->n) {
		*len = 0;
		return NULL;
	}
	*len = s->blob_len;
	return s->blob;
}

uint64_t tl_logp_offset(const struct tl_log_prefetch *p)
{
	return p->cur ? p->cur->offset : 0;
}

static void free_slots(struct tl_log_prefetch *p)
{
	for (int i = 0; p->slots && i < SLOTS; i++) {
		free(p->slots[i].warns);
		free(p->slots[i].texts);
	}
	free(p->slots);
}

int tl_logp_start(struct tl_log_prefetch **out, struct tl_log_reader *r)
{
	struct tl_log_prefetch *p = calloc(1, sizeof(*p));
	sigset_t all, old;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->slots = calloc(SLOTS, sizeof(*p->slots));
	if (!p->slots) {
		free(p);
		return -ENOMEM;
	}
	p->r = r;
	tl_logr_redirect_warn(r, keep_warning, p, &p->warn, &p->ctx);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->ready, NULL);
	pthread_cond_init(&p->room, NULL);
	/* Signals stay the caller's thread's to take, as they were. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p->threaded = !pthread_create(&p->thread, NULL, read_ahead, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = p;
	return 0;
}

void tl_logp_stop(struct tl_log_prefetch *p)
{
	tl_log_warn_fn fn;
	void *ctx;

	if (!p)
		return;
	if (p->threaded) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->lock);
		pthread_cancel(p->thread);
		pthread_join(p->thread, NULL);
	}
	tl_logr_redirect_warn(p->r, p->warn, p->ctx, &fn, &ctx);
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->ready);
	pthread_mutex_destroy(&p->lock);
	free_slots(p);
	free(p);
}
