// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Loader: privilege and BTF checks, skeleton open/load/attach, ring
 * buffer and iterator plumbing.  Reports errors through err only. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "netns.h"
#include "privs.h"
#include "wire.h"
#include "tcplinger.skel.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON	38
#endif
#ifndef CAP_BPF
#define CAP_BPF		39
#endif

#define BTF_PATH	"/sys/kernel/btf/vmlinux"
#define TRACEFS		"/sys/kernel/tracing"
#define RB_DEFAULT	(16UL << 20)
#define RB_MAX		(1UL << 30)
#define SEED_BATCH	64

struct tl_loader {
	struct tcplinger_bpf *skel;
	struct ring_buffer *rb;
	tl_event_fn on_event;
	void *ctx;
	uint32_t netns;		/* filter: 0 = any */
	bool leaks;
	int handled;		/* events handed over by the current poll */
};

/* libbpf's print hook has no context: one flag for the process */
static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	if (!libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* The effective capabilities, or 0 if unknown. */
static uint64_t effective_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return (uint64_t)data[1].effective << 32 | data[0].effective;
}

static bool has_bpf_caps(void)
{
	uint64_t eff;

	if (geteuid() == 0)
		return true;
	eff = effective_caps();
	return (eff & (1ULL << CAP_BPF)) && (eff & (1ULL << CAP_PERFMON));
}

/* An integer sysctl, or def if it cannot be read. */
static int sysctl_int(const char *path, int def)
{
	FILE *f = fopen(path, "re");
	int v = def;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = def;
		fclose(f);
	}
	return v;
}

struct ksyms {
	bool preempt_count;	/* resolvable as a ksym */
	bool tw_handler;	/* tw_timer_handler listed */
	bool tw_handler_addr;	/* ... with its address visible */
};

/* __preempt_count is in BTF, but the verifier resolves ksyms through
 * kallsyms, which lists per-CPU variables only with KALLSYMS_ALL; and
 * libbpf needs tw_timer_handler's real address, hidden by kptr_restrict. */
static void scan_kallsyms(struct ksyms *ks)
{
	char line[256], sym[128];
	unsigned long long addr;
	FILE *f;

	memset(ks, 0, sizeof(*ks));
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %*s %127s", &addr, sym) != 2)
			continue;
		if (!strcmp(sym, "__preempt_count")) {
			ks->preempt_count = true;
		} else if (!strcmp(sym, "tw_timer_handler")) {
			ks->tw_handler = true;
			ks->tw_handler_addr = addr != 0;
		}
	}
	fclose(f);
}

static size_t ringbuf_size(size_t want)
{
	size_t page = sysconf(_SC_PAGESIZE), sz = page;

	if (!want)
		want = RB_DEFAULT;
	while (sz < want)
		sz <<= 1;
	return sz;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct tl_loader *l = ctx;
	struct tl_event ev;

	if (!tl_wire_widen(&ev, data, size))
		return 0;
	l->handled++;
	if (l->on_event)
		l->on_event(&ev, l->ctx);
	return 0;
}

struct tp_prog {
	struct bpf_program *prog;
	struct bpf_link **link;
	const char *name;
};

static int attach_all(struct tl_loader *l, bool use_pc, char *err,
		      size_t errlen)
{
	struct tcplinger_bpf *s = l->skel;
	struct tp_prog tps[] = {
		{ use_pc ? s->progs.tl_state : s->progs.tl_state_stk,
		  use_pc ? &s->links.tl_state : &s->links.tl_state_stk,
		  "sock:inet_sock_set_state" },
		{ s->progs.tl_tw_start, &s->links.tl_tw_start,
		  "timer:timer_start" },
		{ s->progs.tl_tw_expire, &s->links.tl_tw_expire,
		  "timer:timer_expire_entry" },
		{ s->progs.tl_tw_cancel, &s->links.tl_tw_cancel,
		  "timer:timer_cancel" },
		{ s->progs.tl_rst_recv, &s->links.tl_rst_recv,
		  "tcp:tcp_receive_reset" },
		{ s->progs.tl_rst_sent, &s->links.tl_rst_sent,
		  "tcp:tcp_send_reset" },
	};
	struct tp_prog leak_tps[] = {
		{ s->progs.tl_close, &s->links.tl_close, "syscalls:sys_enter_close" },
		{ s->progs.tl_recv, &s->links.tl_recv, "sock:sock_recv_length" },
		{ s->progs.tl_send, &s->links.tl_send, "sock:sock_send_length" },
	};
	struct tp_prog accept_tps[] = {
		{ s->progs.tl_accept4, &s->links.tl_accept4, "syscalls:sys_exit_accept4" },
		{ s->progs.tl_accept, &s->links.tl_accept, "syscalls:sys_exit_accept" },
	};
	/* failed connect()/bind(), read at the syscall's exit */
	struct tp_prog call_tps[] = {
		{ s->progs.tl_connect_exit, &s->links.tl_connect_exit, "syscalls:sys_exit_connect" },
		{ s->progs.tl_bind_exit, &s->links.tl_bind_exit, "syscalls:sys_exit_bind" },
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
		*tps[i].link = bpf_program__attach(tps[i].prog);
		if (!*tps[i].link) {
			ret = -errno;
			return fail(err, errlen, ret,
				    "cannot attach to tracepoint %s: %s",
				    tps[i].name, strerror(-ret));
		}
	}
	for (i = 0; l->leaks && i < sizeof(leak_tps) / sizeof(leak_tps[0]); i++) {
		*leak_tps[i].link = bpf_program__attach(leak_tps[i].prog);
		if (!*leak_tps[i].link) {
			ret = -errno;
			return fail(err, errlen, ret,
				    "cannot attach to tracepoint %s: %s (is tracefs mounted at "
				    TRACEFS "?)", leak_tps[i].name, strerror(-ret));
		}
	}
	/* accept() names the owner of server sockets; without tracefs only
	 * leak hunting cannot do without it */
	for (i = 0; i < sizeof(accept_tps) / sizeof(accept_tps[0]); i++) {
		*accept_tps[i].link = bpf_program__attach(accept_tps[i].prog);
		if (!*accept_tps[i].link) {
			ret = -errno;
			if (l->leaks)
				return fail(err, errlen, ret,
					    "cannot attach to tracepoint %s: %s (is tracefs mounted at "
					    TRACEFS "?)", accept_tps[i].name, strerror(-ret));
			fprintf(stderr, "tcplinger: warning: cannot attach to %s (%s): accepted "
				"sockets' owners are known only from later events\n",
				accept_tps[i].name, strerror(-ret));
			break;
		}
	}
	for (i = 0; i < sizeof(call_tps) / sizeof(call_tps[0]); i++) {
		*call_tps[i].link = bpf_program__attach(call_tps[i].prog);
		if (!*call_tps[i].link) {
			fprintf(stderr, "tcplinger: warning: cannot attach to %s (%s): failed "
				"connect() and bind() calls are not reported\n",
				call_tps[i].name, strerror(errno));
			break;
		}
	}
	return 0;
}

/* tp/ programs find their tracepoint ids in tracefs, which a fresh
 * machine may not have mounted. */
static void ensure_tracefs(void)
{
	if (!access(TRACEFS "/events", F_OK))
		return;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY)
		return;
}

/* Opens, configures and loads the skeleton with one of the two variants
 * of the state program. */
static int load_skel(struct tl_loader *l, const struct tl_loader_opts *opts,
		     uint64_t key, bool use_pc, char *err, size_t errlen)
{
	const struct tl_filter *f = &opts->filter;
	struct tcplinger_bpf *s;
	size_t rb_bytes;
	int i, ret;

	s = tcplinger_bpf__open();
	if (!s) {
		ret = -errno;
		return fail(err, errlen, ret, "cannot open the BPF object: %s",
			    strerror(-ret));
	}
	l->skel = s;

	for (i = 0; i < f->n_lports; i++)
		s->rodata->filter_lports[i] = f->lports[i];
	s->rodata->n_lports = f->n_lports;
	for (i = 0; i < f->n_rports; i++)
		s->rodata->filter_rports[i] = f->rports[i];
	s->rodata->n_rports = f->n_rports;
	s->rodata->filter_family = f->family;
	s->rodata->filter_netns = f->netns;
	s->rodata->filter_cgroup = f->cgroup;
	s->rodata->filter_cgroup_level = f->cgroup_level;
	s->rodata->id_key = key;
	s->rodata->own_stacks = opts->leaks;

	rb_bytes = ringbuf_size(opts->ringbuf_bytes);
	/* An early wake-up once an eighth of the ring is used: the reader
	 * polls every 100 ms, well before the ring could fill. */
	s->rodata->wakeup_bytes = rb_bytes / 8;
	ret = bpf_map__set_max_entries(s->maps.events, rb_bytes);
	if (ret)
		return fail(err, errlen, ret,
			    "cannot size the ring buffer to %zu bytes: %s",
			    rb_bytes, strerror(-ret));

	bpf_program__set_autoload(s->progs.tl_state, use_pc);
	bpf_program__set_autoload(s->progs.tl_state_stk, !use_pc);
	bpf_program__set_autoload(s->progs.tl_close, opts->leaks);
	bpf_program__set_autoload(s->progs.tl_recv, opts->leaks);
	bpf_program__set_autoload(s->progs.tl_send, opts->leaks);
	if (!opts->leaks) {
		/* no stacks wanted: keep the map (the programs refer to it) tiny */
		bpf_map__set_max_entries(s->maps.stacks, 1);
		bpf_map__set_max_entries(s->maps.windows, getpagesize());
		bpf_map__set_max_entries(s->maps.uwin_seen, 1);
		bpf_map__set_max_entries(s->maps.uwin_spent, 1);
		bpf_map__set_max_entries(s->maps.upath_recipes, 1);
		bpf_map__set_max_entries(s->maps.upath_seen, 1);
		bpf_map__set_max_entries(s->maps.upath_awaited, 1);
		bpf_map__set_max_entries(s->maps.sk_use_slots, 1);
		bpf_map__set_autocreate(s->maps.sk_use, false);
	}

	ret = tcplinger_bpf__load(s);
	if (ret) {
		ret = ret < 0 ? ret : -errno;
		tl_load_failed(err, errlen, ret);
		return ret;
	}
	return 0;
}

int tl_loader_open(struct tl_loader **out, const struct tl_loader_opts *opts,
		   char *err, size_t errlen)
{
	const struct tl_filter *f = &opts->filter;
	struct tl_loader *l;
	struct ksyms ks;
	bool use_pc;
	uint64_t key;
	int ret;

	*out = NULL;
	if (!has_bpf_caps())
		return fail(err, errlen, -EPERM,
			    "need root (or CAP_BPF and CAP_PERFMON) to load BPF programs: run with sudo");
	ret = tl_btf_check(BTF_PATH, err, errlen);
	if (ret)
		return ret;
	if (f->n_lports < 0 || f->n_lports > TL_MAX_PORT_FILTER ||
	    f->n_rports < 0 || f->n_rports > TL_MAX_PORT_FILTER)
		return fail(err, errlen, -EINVAL,
			    "at most %d local and %d remote ports can be filtered",
			    TL_MAX_PORT_FILTER, TL_MAX_PORT_FILTER);
	if (f->family != 0 && f->family != AF_INET && f->family != AF_INET6)
		return fail(err, errlen, -EINVAL,
			    "address family filter must be IPv4 or IPv6");
	if (opts->ringbuf_bytes > RB_MAX)
		return fail(err, errlen, -EINVAL,
			    "ring buffer size %zu too large (at most %lu MiB)",
			    opts->ringbuf_bytes, RB_MAX >> 20);

	scan_kallsyms(&ks);
	if (!ks.tw_handler)
		return fail(err, errlen, -ENOTSUP,
			    "kernel symbol tw_timer_handler not found in /proc/kallsyms: this kernel's TIME_WAIT timers cannot be traced");
	if (!ks.tw_handler_addr) {
		tl_kallsyms_hidden(err, errlen,
				   sysctl_int("/proc/sys/kernel/kptr_restrict", 1),
				   sysctl_int("/proc/sys/kernel/perf_event_paranoid", TL_SYSCTL_UNKNOWN),
				   effective_caps() & (1ULL << CAP_SYSLOG));
		return -EPERM;
	}

	if (getrandom(&key, sizeof(key), 0) != sizeof(key))
		return fail(err, errlen, -errno,
			    "cannot get random bytes: %s", strerror(errno));

	l = calloc(1, sizeof(*l));
	if (!l)
		return fail(err, errlen, -ENOMEM, "out of memory");
	l->on_event = opts->on_event;
	l->ctx = opts->ctx;
	l->netns = f->netns;
	l->leaks = opts->leaks;
	ensure_tracefs();

	libbpf_verbose = opts->verbose;
	libbpf_set_print(libbpf_print);

	use_pc = ks.preempt_count;
	ret = load_skel(l, opts, key, use_pc, err, errlen);
	if (ret && use_pc) {
		/* the exact process-context test is optional: do without */
		tcplinger_bpf__destroy(l->skel);
		l->skel = NULL;
		use_pc = false;
		ret = load_skel(l, opts, key, use_pc, err, errlen);
	}
	if (ret)
		goto err_out;

	ret = attach_all(l, use_pc, err, errlen);
	if (ret)
		goto err_out;
	/* every program sees events from this instant on (see gate_open) */
	__atomic_store_n(&l->skel->bss->gate_open, true, __ATOMIC_SEQ_CST);

	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), on_sample,
				 l, NULL);
	if (!l->rb) {
		ret = -errno;
		fail(err, errlen, ret, "cannot set up the ring buffer: %s",
		     strerror(-ret));
		goto err_out;
	}

	*out = l;
	return 0;

err_out:
	tl_loader_close(l);
	return ret;
}

/* One seed pass: the iterator and where its events go. */
struct seed_pass {
	struct tl_loader *l;
	tl_event_fn fn;
	void *ctx;
};

/* Runs the iterator once in the calling thread's netns (iter/tcp walks
 * the netns of whoever creates the iterator); called by tl_netns_foreach. */
static int seed_here(void *arg)
{
	struct seed_pass *sp = arg;
	union {
		struct tl_event ev[SEED_BATCH];
		char raw[SEED_BATCH * sizeof(struct tl_event)];
	} buf;
	struct bpf_link *link;
	size_t have = 0, off;
	int fd, count = 0;
	ssize_t n;

	link = bpf_program__attach_iter(sp->l->skel->progs.tl_seed, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		count = -errno;
		goto out_link;
	}
	for (;;) {
		n = read(fd, buf.raw + have, sizeof(buf.raw) - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			count = -errno;
			break;
		}
		if (n == 0)
			break;
		have += n;
		for (off = 0; off + sizeof(struct tl_event) <= have;
		     off += sizeof(struct tl_event)) {
			struct tl_event ev;

			memcpy(&ev, buf.raw + off, sizeof(ev));
			count++;
			sp->fn(&ev, sp->ctx);
		}
		/* keep a partial record for the next read */
		memmove(buf.raw, buf.raw + off, have - off);
		have -= off;
	}
	close(fd);
out_link:
	bpf_link__destroy(link);
	return count;
}

int tl_loader_seed(struct tl_loader *l, tl_event_fn fn, void *ctx, int *skipped)
{
	struct seed_pass sp = { .l = l, .fn = fn, .ctx = ctx };

	if (!l || !fn)
		return -EINVAL;
	return tl_netns_foreach(l->netns, seed_here, &sp, skipped);
}

int tl_loader_poll(struct tl_loader *l, int timeout_ms)
{
	int ret;

	l->handled = 0;
	ret = ring_buffer__poll(l->rb, timeout_ms);
	return ret < 0 ? ret : l->handled;
}

int tl_loader_epoll_fd(const struct tl_loader *l)
{
	return ring_buffer__epoll_fd(l->rb);
}

int tl_loader_drain(struct tl_loader *l)
{
	int ret;

	l->handled = 0;
	ret = ring_buffer__consume(l->rb);
	return ret < 0 ? ret : l->handled;
}

/* Stack windows (bpf/unwind.h): the ring user/unwind.c reads. */
int tl_loader_windows_fd(const struct tl_loader *l)
{
	return bpf_map__fd(l->skel->maps.windows);
}

/* Call-path recipes (bpf/unwind.h), which user/unwind.c posts. */
int tl_loader_upaths_fd(const struct tl_loader *l)
{
	return bpf_map__fd(l->skel->maps.upath_recipes);
}

int tl_loader_stack(struct tl_loader *l, uint32_t ref, uint64_t *ips, int max)
{
	uint64_t frames[TL_STACK_DEPTH] = { 0 };
	uint32_t id = ref - 1;
	int n = 0;

	if (!ref || bpf_map__lookup_elem(l->skel->maps.stacks, &id, sizeof(id), frames,
					 sizeof(frames), 0))
		return -ENOENT;
	while (n < TL_STACK_DEPTH && n < max && frames[n]) {
		ips[n] = frames[n];
		n++;
	}
	return n;
}

uint64_t tl_loader_drops(struct tl_loader *l)
{
	if (!l || !l->skel || !l->skel->bss)
		return 0;
	/* the kernel bumps it concurrently through the mmap'ed .bss */
	return __atomic_load_n(&l->skel->bss->ringbuf_drops, __ATOMIC_RELAXED);
}

int tl_loader_prog_stats(const struct tl_loader *l,
			 void (*fn)(const char *name, uint64_t run_ns, uint64_t runs, void *ctx),
			 void *ctx)
{
	struct bpf_program *prog;
	int n = 0;

	if (!l || !l->skel)
		return -EINVAL;
	bpf_object__for_each_program(prog, l->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0)	/* not loaded (autoload off) */
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		fn(bpf_program__name(prog), info.run_time_ns, info.run_cnt, ctx);
		n++;
	}
	return n;
}

void tl_loader_close(struct tl_loader *l)
{
	if (!l)
		return;
	ring_buffer__free(l->rb);
	tcplinger_bpf__destroy(l->skel);
	free(l);
}
