/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The output lane; see outlane.h.  A ring of slots, each a run of entries
 * (a lifecycle to format, or text to write as it is), passed under a
 * mutex and condvars. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "outlane.h"

#define SLOTS 4
#define SLOT_BYTES (256u << 10)	/* ~800 lifecycles */

enum entry_kind { ENTRY_LIFECYCLE = 1, ENTRY_TEXT };

struct entry {
	uint32_t kind;
	uint32_t len;		/* of what follows, padded to ENTRY_ALIGN */
};
#define ENTRY_ALIGN 8

struct slot {
	uint8_t *buf;		/* SLOT_BYTES */
	size_t len;
};

struct tl_outlane {
	struct tl_output out;	/* the formatting thread's: a copy, no lane */
	struct slot slots[SLOTS];
	pthread_mutex_t lock;
	pthread_cond_t ready, room, idle;
	/* Slots queued: from head, count of them; the caller fills the one
	 * after them, fill (its own). */
	int head, count, fill;
	bool stop;
	pthread_t thread;
};

static size_t padded(size_t len)
{
	return (len + ENTRY_ALIGN - 1) & ~(size_t)(ENTRY_ALIGN - 1);
}

static void write_slot(struct tl_outlane *l, const struct slot *s)
{
	size_t at = 0;

	while (at < s->len) {
		const struct entry *e = (const struct entry *)(s->buf + at);
		const uint8_t *body = s->buf + at + sizeof(*e);

		if (e->kind == ENTRY_LIFECYCLE)
			tl_output_lifecycle(&l->out, (const struct tl_lifecycle *)body);
		else
			fwrite(body, 1, e->len, l->out.f);
		at += sizeof(*e) + padded(e->len);
	}
}

static void *format_ahead(void *arg)
{
	struct tl_outlane *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct slot *s;

		while (!l->count && !l->stop)
			pthread_cond_wait(&l->ready, &l->lock);
		if (!l->count)
			break;
		s = &l->slots[l->head];
		pthread_mutex_unlock(&l->lock);
		write_slot(l, s);
		pthread_mutex_lock(&l->lock);
		s->len = 0;
		l->head = (l->head + 1) % SLOTS;
		l->count--;
		pthread_cond_signal(&l->room);
		if (!l->count)
			pthread_cond_broadcast(&l->idle);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* The slot the caller fills: never one queued (count < SLOTS holds). */
static struct slot *filling(struct tl_outlane *l)
{
	return &l->slots[l->fill];
}

/* Queues the slot being filled, if it has anything, and waits for one to
 * fill next. */
static void publish(struct tl_outlane *l)
{
	pthread_mutex_lock(&l->lock);
	if (filling(l)->len) {
		l->fill = (l->fill + 1) % SLOTS;
		l->count++;
		pthread_cond_signal(&l->ready);
	}
	while (l->count == SLOTS)
		pthread_cond_wait(&l->room, &l->lock);
	pthread_mutex_unlock(&l->lock);
}

void tl_outlane_drain(struct tl_outlane *l)
{
	publish(l);
	pthread_mutex_lock(&l->lock);
	while (l->count)
		pthread_cond_wait(&l->idle, &l->lock);
	pthread_mutex_unlock(&l->lock);
}

/* Room for an entry of len bytes; NULL if no slot can hold it.  The slot
 * being filled is the caller's alone: no lock while writing to it. */
static uint8_t *reserve(struct tl_outlane *l, uint32_t kind, size_t len)
{
	size_t need = sizeof(struct entry) + padded(len);
	struct slot *s = filling(l);
	struct entry *e;

	if (need > SLOT_BYTES)
		return NULL;
	if (SLOT_BYTES - s->len < need) {
		publish(l);
		s = filling(l);
	}
	e = (struct entry *)(s->buf + s->len);
	e->kind = kind;
	e->len = (uint32_t)len;
	s->len += need;
	return (uint8_t *)(e + 1);
}

void tl_outlane_lifecycle(struct tl_outlane *l, const struct tl_lifecycle *lc)
{
	struct tl_lifecycle *copy = (struct tl_lifecycle *)reserve(l, ENTRY_LIFECYCLE,
								   sizeof(*lc));

	*copy = *lc;
	copy->usage = NULL;	/* valid only during the engine's callback */
}

void tl_outlane_text(struct tl_outlane *l, const char *buf, size_t len)
{
	uint8_t *to = reserve(l, ENTRY_TEXT, len);

	if (to) {
		memcpy(to, buf, len);
		return;
	}
	/* Longer than a slot: written here, after what is queued. */
	tl_outlane_drain(l);
	fwrite(buf, 1, len, l->out.f);
}

static void free_lane(struct tl_outlane *l)
{
	for (int i = 0; i < SLOTS; i++)
		free(l->slots[i].buf);
	pthread_cond_destroy(&l->idle);
	pthread_cond_destroy(&l->room);
	pthread_cond_destroy(&l->ready);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

struct tl_outlane *tl_outlane_start(const struct tl_output *out)
{
	struct tl_outlane *l = calloc(1, sizeof(*l));
	sigset_t all, old;
	int err;

	if (!l)
		return NULL;
	l->out = *out;
	l->out.lane = NULL;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->ready, NULL);
	pthread_cond_init(&l->room, NULL);
	pthread_cond_init(&l->idle, NULL);
	for (int i = 0; i < SLOTS; i++) {
		l->slots[i].buf = malloc(SLOT_BYTES);
		if (!l->slots[i].buf) {
			free_lane(l);
			return NULL;
		}
	}
	/* Signals stay the caller's thread's to take, as they were, but for
	 * the SIGPIPE of a write here: a reader that left ends the process
	 * as it did when the caller wrote. */
	sigfillset(&all);
	sigdelset(&all, SIGPIPE);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&l->thread, NULL, format_ahead, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free_lane(l);
		return NULL;
	}
	return l;
}

void tl_outlane_stop(struct tl_outlane *l)
{
	if (!l)
		return;
	tl_outlane_drain(l);
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_signal(&l->ready);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	free_lane(l);
}
