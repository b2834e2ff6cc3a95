// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* User stacks unwound with the CFI; see unwind.h. */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "idmap.h"
#include "unwind.h"

/* Windows unwound, waiting for the event that names them: the oldest go
 * first. */
#define MAX_WINDOWS 256

/* A window's stack, unwound as it arrived. */
struct unwound {
	uint32_t pid, id;
	int n;
	bool truncated;
	uint64_t ips[];
};

struct tl_unwinder {
	struct tl_symbolizer *sym;
	struct ring_buffer *ring;
	struct unwound *slots[MAX_WINDOWS];	/* a FIFO */
	uint32_t next;				/* the slot to fill next */
	struct tl_idmap by_id;			/* pid << 32 | id -> slot */
	int upaths_fd;				/* call-path recipes, or -1 */
};

/* One unwinding: the window, and the frames found so far. */
struct walk {
	struct tl_symbolizer *sym;
	const struct tl_uwin *w;
	Dwfl *dwfl;
	uint64_t *ips;
	int n, max;
	bool truncated;
	bool sp_pc_only;	/* a blocked thread's: the other registers are not known */
	bool fp_known;		/* then: rbp found after all (guess_fp()) */
	uint64_t fp;
	struct tl_upath_recipe *path;	/* where the return addresses lay, or NULL */
};

static uint64_t window_key(uint32_t pid, uint32_t id)
{
	return (uint64_t)pid << 32 | id;
}

static void drop_slot(struct tl_unwinder *u, uint32_t i)
{
	struct unwound *w = u->slots[i];
	uint32_t at;

	if (!w)
		return;
	if (tl_idmap_get(&u->by_id, window_key(w->pid, w->id), &at) && at == i)
		tl_idmap_del(&u->by_id, window_key(w->pid, w->id));
	free(w);
	u->slots[i] = NULL;
}

static int on_window(void *ctx, void *data, size_t size)
{
	tl_unwind_add(ctx, data, size);
	return 0;
}

struct tl_unwinder *tl_unwind_new(struct tl_symbolizer *sym, int ring_fd, int upaths_fd)
{
	struct tl_unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->sym = sym;
	u->upaths_fd = upaths_fd;
	/* no ring: frame-pointer stacks only */
	if (ring_fd >= 0 && !(u->ring = ring_buffer__new(ring_fd, on_window, u, NULL))) {
		free(u);
		return NULL;
	}
	return u;
}

void tl_unwind_free(struct tl_unwinder *u)
{
	if (!u)
		return;
	for (uint32_t i = 0; i < MAX_WINDOWS; i++)
		free(u->slots[i]);
	tl_idmap_free(&u->by_id);
	ring_buffer__free(u->ring);
	free(u);
}

/* libdw finds every file through us: none by a path of its own. */
static int no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		  char **file_name, Elf **elfp)
{
	(void)mod; (void)userdata; (void)modname; (void)base; (void)file_name; (void)elfp;
	return -1;
}

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	(void)mod; (void)userdata; (void)modname; (void)base; (void)file_name;
	(void)debuglink_file; (void)debuglink_crc; (void)debuginfo_file_name;
	return -1;	/* .eh_frame, or .debug_frame in the file itself */
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = no_elf,
	.find_debuginfo = no_debuginfo,
};

/* The module at addr known to libdw, reported on first sight; false when
 * it is not a readable ELF file (the vdso, data), true for JIT code. */
static bool know_module(struct walk *wk, uint64_t addr)
{
	struct tl_sym_module m;

	if (dwfl_addrmodule(wk->dwfl, addr))
		return true;
	/* Anonymous executable memory is a JIT's code: no CFI, libdw walks
	 * it by the frame pointer (runtimes keep one there). */
	if (tl_sym_module(wk->sym, (int)wk->w->pid, addr, true, &m) || m.fd < 0)
		return m.exec && !m.name;
	/* add_p_vaddr: the module's bias is m.bias itself */
	if (dwfl_report_elf(wk->dwfl, m.name, m.name, m.fd, m.bias, true))
		return true;
	close(m.fd);	/* consumed only on success */
	return false;
}

static bool read_window(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct walk *wk = arg;
	uint64_t sp = wk->w->regs[7], off = addr - sp;

	(void)dwfl;
	/* Outside the window nothing is known: the unwinding ends there. */
	if (addr < sp || off > wk->w->len || wk->w->len - off < sizeof(*result)) {
		wk->truncated = true;
		return false;
	}
	memcpy(result, wk->w->data + off, sizeof(*result));
	return true;
}

static pid_t one_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct walk *wk = arg;

	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = wk;
	return (pid_t)wk->w->tid;
}

static bool initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct walk *wk = arg;

	dwfl_thread_state_register_pc(thread, wk->w->regs[16]);
	/* Registers left unset are undefined: a frame whose CFI needs one
	 * ends the stack rather than reading a made-up value. */
	if (wk->sp_pc_only)
		return dwfl_thread_state_registers(thread, 7, 1, (const Dwarf_Word *)&wk->w->regs[7]) &&
		       (!wk->fp_known || dwfl_thread_state_registers(thread, 6, 1, &wk->fp));
	return dwfl_thread_state_registers(thread, 0, TL_UWIN_NREGS,
					   (const Dwarf_Word *)wk->w->regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = one_thread,
	.memory_read = read_window,
	.set_initial_registers = initial_registers,
};

/* The word at addr in w's window; false outside it. */
static bool window_word(const struct tl_uwin *w, uint64_t addr, uint64_t *val)
{
	uint64_t off = addr - w->regs[7];

	if (addr < w->regs[7] || off > w->len || w->len - off < 8 || addr % 8)
		return false;
	memcpy(val, w->data + off, 8);
	return true;
}

/* Frame i's return address (i > 0) lay just under its sp, the CFA of the
 * frame it returns to: noted for the call-path recipe while every frame so
 * far has one there (a frame walked by its frame pointer may not). */
static void note_return_slot(struct walk *wk, Dwfl_Frame *frame, int i, uint64_t pc)
{
	struct tl_upath_recipe *p = wk->path;
	Dwarf_Word sp;
	uint64_t word;

	if (!p || i == 0 || p->n != (uint32_t)i - 1 || p->n >= TL_UPATH_DEPTH)
		return;
	if (dwfl_frame_reg(frame, 7, &sp) || !window_word(wk->w, sp - 8, &word) || word != pc)
		return;
	p->off[p->n++] = (uint16_t)(sp - 8 - wk->w->regs[7]);
}

static int on_frame(Dwfl_Frame *frame, void *arg)
{
	struct walk *wk = arg;
	Dwarf_Addr pc;
	bool activation;

	/* Asking whether this is an activation unwinds the frame: its module
	 * must be known first, at pc and, for a return address, at the call
	 * (pc - 1). */
	if (!dwfl_frame_pc(frame, &pc, NULL) || !pc)
		return DWARF_CB_ABORT;
	note_return_slot(wk, frame, wk->n, pc);
	wk->ips[wk->n++] = pc;
	if (wk->n == wk->max || !know_module(wk, pc - 1) || !know_module(wk, pc) ||
	    !dwfl_frame_pc(frame, &pc, &activation))
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

static bool is_code(struct tl_unwinder *u, uint32_t pid, uint64_t addr)
{
	struct tl_sym_module m;

	return addr && !tl_sym_module(u->sym, (int)pid, addr - 1, false, &m) && m.exec;
}

/*
 * rbp of a thread blocked in a syscall, which /proc does not give: code
 * built with frame pointers needs it for its CFA.  The innermost frame
 * record above sp (saved rbp, return address) is taken for it, if it
 * chains to a second one: a C library wrapper that saves rbp itself
 * says so in its CFI, which then overrides the guess.
 */
static bool guess_fp(struct tl_unwinder *u, const struct tl_uwin *w, uint64_t *fp)
{
	uint64_t end = w->regs[7] + w->len, next, ra, ra2, up;

	for (uint64_t a = w->regs[7]; a + 16 <= end; a += 8) {
		if (!window_word(w, a, &next) || next <= a || next + 16 > end ||
		    !window_word(w, a + 8, &ra) || !window_word(w, next + 8, &ra2) ||
		    !window_word(w, next, &up) || (up && up <= next))
			continue;
		if (is_code(u, w->pid, ra) && is_code(u, w->pid, ra2)) {
			*fp = a;
			return true;
		}
	}
	return false;
}

/* Up to max return addresses of window w, unwound from all its registers
 * or from sp and pc alone. */
static int walk_window(struct tl_unwinder *u, const struct tl_uwin *w, bool sp_pc_only,
		       uint64_t *ips, int max, bool *truncated, struct tl_upath_recipe *path)
{
	struct walk wk = { .sym = u->sym, .w = w, .ips = ips, .max = max,
			   .sp_pc_only = sp_pc_only, .path = path };

	if (sp_pc_only)
		wk.fp_known = guess_fp(u, w, &wk.fp);

	*truncated = false;
	wk.dwfl = dwfl_begin(&dwfl_callbacks);
	if (!wk.dwfl)
		return -ENOMEM;
	/* A module first: libdw takes the architecture from one. */
	if (max > 0 && know_module(&wk, w->regs[16]) &&
	    dwfl_attach_state(wk.dwfl, NULL, (pid_t)w->pid, &thread_callbacks, &wk)) {
		dwfl_getthread_frames(wk.dwfl, (pid_t)w->tid, on_frame, &wk);
	} else if (max > 0) {
		ips[wk.n++] = w->regs[16];	/* the pc at least */
	}
	dwfl_end(wk.dwfl);
	*truncated = wk.truncated || wk.n == max;
	return wk.n;
}

/* Tells the collector where w's call path lies (bpf/unwind.h): where the
 * return address into the wrapper's caller is, and then where they all are
 * on the path through that caller. */
static void post_upath(struct tl_unwinder *u, const struct tl_uwin *w, const uint64_t *ips,
		       const struct tl_upath_recipe *path)
{
	struct tl_upath_key key = { .pid = w->pid, .pc = w->regs[16] };
	struct tl_upath_recipe first = { .n = 1 };

	if (u->upaths_fd < 0 || !path->n || w->regs[7] % 8)
		return;
	first.off[0] = path->off[0];
	if (bpf_map_update_elem(u->upaths_fd, &key, &first, BPF_ANY))
		return;
	key.ret1 = ips[1];
	bpf_map_update_elem(u->upaths_fd, &key, path, BPF_ANY);
}

/* Unwound as it arrives, so that the collector learns its call path
 * before the next call from there costs another window. */
int tl_unwind_add(struct tl_unwinder *u, const struct tl_uwin *w, size_t size)
{
	size_t head = offsetof(struct tl_uwin, data);
	struct tl_upath_recipe path = { 0 };
	uint64_t ips[TL_UNWIND_FRAMES];
	struct unwound *uw;
	uint32_t i = u->next;
	bool truncated;
	int n;

	if (size < head || w->len > TL_UWIN_BYTES || size < head + w->len || !w->id)
		return -EINVAL;
	n = walk_window(u, w, false, ips, TL_UNWIND_FRAMES, &truncated, &path);
	if (n < 0)
		return n;
	if (n > 1)
		post_upath(u, w, ips, &path);
	uw = malloc(sizeof(*uw) + (size_t)n * sizeof(*ips));
	if (!uw)
		return -ENOMEM;
	*uw = (struct unwound){ .pid = w->pid, .id = w->id, .n = n, .truncated = truncated };
	memcpy(uw->ips, ips, (size_t)n * sizeof(*ips));
	drop_slot(u, i);
	if (!tl_idmap_put(&u->by_id, window_key(w->pid, w->id), i)) {
		free(uw);
		return -ENOMEM;
	}
	u->slots[i] = uw;
	u->next = (i + 1) % MAX_WINDOWS;
	return 0;
}

int tl_unwind_pump(struct tl_unwinder *u)
{
	return u->ring ? ring_buffer__consume(u->ring) : 0;
}

int tl_unwind_epoll_fd(const struct tl_unwinder *u)
{
	return u->ring ? ring_buffer__epoll_fd(u->ring) : -1;
}

int tl_unwind_window(struct tl_unwinder *u, uint32_t id, uint32_t pid, uint64_t *ips, int max,
		     bool *truncated)
{
	struct unwound *uw;
	uint32_t slot;
	int n;

	*truncated = false;
	tl_unwind_pump(u);
	if (!id || !tl_idmap_get(&u->by_id, window_key(pid, id), &slot))
		return -ENOENT;
	uw = u->slots[slot];
	n = uw->n < max ? uw->n : max;
	memcpy(ips, uw->ips, (size_t)n * sizeof(*ips));
	*truncated = uw->truncated || n < uw->n;
	drop_slot(u, slot);	/* asked for once: the stack store keeps the result */
	return n;
}

int tl_unwind_fold_wrapper(char **frames, int n, int nwrap, const char *lib)
{
	const char *outer;
	char *folded;
	size_t len;

	if (nwrap <= 0 || nwrap > n)
		return n;
	/* "accept4+0x13 (accept4.c:33)": the name ends at "+0x" or " (";
	 * "libc.so.6+0x1234" (no symbol) folds to the library alone. */
	outer = frames[nwrap - 1];
	len = strcspn(outer, "+ ");
	if (len == strlen(lib) && !strncmp(outer, lib, len))
		folded = strdup(lib);
	else if (asprintf(&folded, "%.*s (%s)", (int)len, outer, lib) < 0)
		folded = NULL;
	if (!folded)
		return n;	/* out of memory: the frames as they are */
	for (int i = 0; i < nwrap; i++)
		free(frames[i]);
	frames[0] = folded;
	memmove(frames + 1, frames + nwrap, (size_t)(n - nwrap) * sizeof(*frames));
	return n - nwrap + 1;
}

/* The C library (and glibc's old libpthread), whose syscall wrappers fold. */
static bool is_libc(const char *name)
{
	return !strncmp(name, "libc.so", 7) || !strncmp(name, "libc-", 5) ||
	       !strncmp(name, "libpthread", 10);
}

/* Frame strings of ips[0, n) taken in pid (ips[0] exact, the others
 * return addresses): cut at the first outside code, the C library's
 * innermost frames folded, a last TL_UNWIND_TRUNCATED if cut short. */
static int frames_of(struct tl_unwinder *u, int pid, uint64_t *ips, int n, bool truncated,
		     char **out)
{
	char lib[64] = "";
	bool in_lib = true;
	int nwrap = 0, err;

	for (int i = 0; i < n; i++) {
		struct tl_sym_module m;

		err = tl_sym_module(u->sym, pid, i ? ips[i] - 1 : ips[i], false, &m);
		if (err && err != -ENOENT)
			return err;
		/* not code: a guess of the frame-pointer walk, or garbage */
		if (!m.exec) {
			n = i;
			truncated = true;
			break;
		}
		if (in_lib && !err && is_libc(m.name)) {
			nwrap = i + 1;
			snprintf(lib, sizeof(lib), "%s", m.name);
		} else {
			in_lib = false;
		}
	}
	if (n <= 0)
		return 0;
	/* a syscall wrapper is never the outermost frame: its caller is missing */
	if (nwrap == n)
		truncated = true;
	err = tl_sym_resolve(u->sym, pid, ips, n, out);
	if (err != n)
		return err < 0 ? err : -EIO;
	n = tl_unwind_fold_wrapper(out, n, nwrap, lib);
	if (truncated && n < TL_UNWIND_FRAMES) {
		out[n] = strdup(TL_UNWIND_TRUNCATED);
		if (out[n])
			n++;
	}
	return n;
}

int tl_unwind_frames(struct tl_unwinder *u, int pid, uint32_t kref, const uint64_t *fp_ips,
		     int fp_n, char **out)
{
	uint64_t ips[TL_UNWIND_FRAMES];
	bool truncated;
	int n;

	n = tl_unwind_window(u, TL_KSTACK_WINDOW(kref), (uint32_t)pid, ips, TL_UNWIND_FRAMES,
			     &truncated);
	/* No window, or nothing past its pc: the frame pointers know as much. */
	if (n < 2 && fp_n > 0) {
		n = fp_n < TL_UNWIND_FRAMES ? fp_n : TL_UNWIND_FRAMES;
		memcpy(ips, fp_ips, (size_t)n * sizeof(*ips));
		truncated = false;
	}
	return frames_of(u, pid, ips, n, truncated, out);
}

int tl_unwind_blocked(struct tl_unwinder *u, const struct tl_uwin *w, char **out)
{
	uint64_t ips[TL_UNWIND_FRAMES];
	bool truncated;
	int n;

	if (w->len > TL_UWIN_BYTES)
		return -EINVAL;
	n = walk_window(u, w, true, ips, TL_UNWIND_FRAMES, &truncated, NULL);
	if (n <= 0)
		return n;
	return frames_of(u, (int)w->pid, ips, n, truncated, out);
}
