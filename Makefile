# tcplinger — build, dependencies, tests.
#   make            build ./tcplinger
#   make run        install deps if missing, build, trace this host live
#   make test       install deps if missing, build (plain and ASan/UBSan), run every test
#   make vmlinux    regenerate vmlinux/vmlinux.h from this kernel's BTF
#   make install    install the built tracer, its man page, bash completion, systemd unit and
#                   Grafana dashboard (PREFIX=/usr/local, DESTDIR=); make uninstall removes
#                   exactly those files
#   make V=1        show the commands

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
SAN ?=

ifeq ($(SAN),1)
OUTPUT := .output-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
OUTPUT := .output
SANFLAGS :=
endif

LIBBPF_CFLAGS := $(shell pkg-config --cflags libbpf 2>/dev/null)
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)
CFLAGS ?= -g -O2
WARN := -Wall -Wextra -Werror
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(SANFLAGS) -I$(OUTPUT) -Iuser -Ibpf $(LIBBPF_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)
NCURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
MHD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
LDLIBS := $(LIBBPF_LIBS) -ldw -lelf -lz -ldeflate -lm

# System include dirs so BPF code finds asm/ headers, as libbpf-bootstrap does.
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRC := bpf/tcplinger.bpf.c
BPF_OBJ := $(OUTPUT)/tcplinger.bpf.o
SKEL := $(OUTPUT)/tcplinger.skel.h

USER_SRCS := $(sort $(wildcard user/*.c))
# Python stacks read out of process (pyframes.h); not part of replay.
PY_STACK_SRCS := user/pyframes.c user/pylayout.c user/pylinetable.c user/pyproc.c
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
# Pure logic (no BPF, no CLI, no terminal): what unit tests and fuzz targets link against.
LOGIC_SRCS := $(filter-out user/main.c user/loader.c user/live.c user/top.c user/serve.c,$(USER_SRCS))
LOGIC_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(LOGIC_SRCS))

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
FUZZ_SECS ?= 300
SCEN_SRCS := $(sort $(wildcard tests/scenarios/*.c))
SCEN_BINS := $(patsubst tests/scenarios/%.c,$(OUTPUT)/tests/scen_%,$(SCEN_SRCS))

DEPS_PKGS := clang llvm libclang-rt-14-dev bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev libdeflate-dev \
	pkg-config gcc make iproute2 python3 procps util-linux time libncurses-dev tmux \
	man-db groff-base gzip libmicrohttpd-dev prometheus
# Optional: a JavaScript runtime for the test of JIT frames, mandoc to lint the man page
# (each test skipped without; the unit is checked with systemd-analyze where systemd is).
DEPS_OPT_PKGS := nodejs mandoc

.PHONY: all clean deps run test test-bins vmlinux fuzz
.DELETE_ON_ERROR:

all: tcplinger

tcplinger: $(OUTPUT)/tcplinger
ifneq ($(SAN),1)
	$(Q)cp $< $@
endif

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(BPF_OBJ): $(BPF_SRC) $(wildcard bpf/*.h) vmlinux/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) \
		-Ivmlinux -Ibpf $(LIBBPF_CFLAGS) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(SKEL): $(BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcplinger_bpf > $@

# The skeleton comes first (order-only): the one object that includes it,
# loader.o, depends on it through its -MMD dependency file.
$(OUTPUT)/user/%.o: user/%.c | $(SKEL) $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/tcplinger: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) $(NCURSES_LIBS) $(MHD_LIBS) -lpthread -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c tests/unit/unit.h $(LOGIC_OBJS) | $(OUTPUT)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -MMD -MP $< $(LOGIC_OBJS) $(ALL_LDFLAGS) $(LDLIBS) -o $@

# The transition-log tests share their helpers.
$(OUTPUT)/tests/test_logfile $(OUTPUT)/tests/test_logfile_damage: tests/unit/logtest.h

$(OUTPUT)/tests/scen_%: tests/scenarios/%.c | $(OUTPUT)/tests
	$(call msg,CC-SCEN,$@)
	$(Q)$(CC) $(CFLAGS) -fno-omit-frame-pointer $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP $< -lpthread -o $@

# Leak programs built as distributions build them (-O2 -g, no frame
# pointers): the stacks of their leaks need the CFI.
$(OUTPUT)/tests/scen_leak_o2 $(OUTPUT)/tests/scen_leak_many: $(OUTPUT)/tests/scen_%: tests/scenarios/%.c | $(OUTPUT)/tests
	$(call msg,CC-SCEN,$@)
	$(Q)$(CC) -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP $< -lpthread -o $@

# libFuzzer targets (clang: the fuzzer runtime is its own): the log reader,
# the whole replay (every output mode, JSON and memory oracles) and the
# symbolizer's ELF/DWARF reading.  Each links what its harness needs from
# one archive of the logic objects, all built with the fuzzer's flags.
FUZZ_CC := $(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) -std=gnu11 -D_GNU_SOURCE \
	-Iuser -Ibpf
FUZZ_LIB := $(OUTPUT)/fuzz/libtcplinger.a
FUZZ_BINS := $(patsubst %,$(OUTPUT)/tests/fuzz_%,logfile replay symbolize)

$(OUTPUT)/fuzz/%.o: user/%.c | $(OUTPUT)/fuzz
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(patsubst user/%.c,$(OUTPUT)/fuzz/%.o,$(LOGIC_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_BINS): $(OUTPUT)/tests/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) | $(OUTPUT)/tests
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) -MMD -MP $< $(FUZZ_LIB) -ldw -lelf -lz -ldeflate -lm -o $@

# Writes logs crafted against replay's memory and time bounds (tests).
$(OUTPUT)/tests/gen_crafted: tests/fuzz/gen_crafted.c $(LOGIC_OBJS) | $(OUTPUT)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $< $(LOGIC_OBJS) $(ALL_LDFLAGS) $(LDLIBS) -o $@

ifeq ($(SAN),1)
test-bins: $(OUTPUT)/tcplinger $(UNIT_BINS) $(SCEN_BINS) $(OUTPUT)/tests/gen_crafted
else
test-bins: $(OUTPUT)/tcplinger $(UNIT_BINS) $(SCEN_BINS) $(OUTPUT)/tests/gen_crafted $(FUZZ_BINS)
endif

# make fuzz: each target for FUZZ_SECS (default 300) from its seeds in
# tests/fuzz/, what it finds kept in $(OUTPUT)/fuzz-corpus-NAME.
.PHONY: fuzz-logfile fuzz-replay fuzz-symbolize
fuzz: fuzz-logfile fuzz-replay fuzz-symbolize
fuzz_run = mkdir -p $(OUTPUT)/fuzz-corpus-$(1) && \
	$(2) -max_total_time=$(FUZZ_SECS) $(OUTPUT)/fuzz-corpus-$(1) tests/fuzz/$(3)
fuzz-logfile: $(OUTPUT)/tests/fuzz_logfile
	$(call fuzz_run,logfile,$<,corpus)
fuzz-replay: $(OUTPUT)/tests/fuzz_replay
	$(call fuzz_run,replay,$<,corpus)
fuzz-symbolize: $(OUTPUT)/tests/fuzz_symbolize
	$(call fuzz_run,symbolize,$<,corpus-symbolize)

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# $(call apt_install,TARGET,PACKAGES,OPTIONAL PACKAGES): installs the Debian
# packages not installed yet (root only); an optional one may fail.
define apt_install
	@missing=""; optional=""; \
	for p in $(2); do $(call dpkg_has,$$p) || missing="$$missing $$p"; done; \
	for p in $(3); do $(call dpkg_has,$$p) || optional="$$optional $$p"; done; \
	if [ -n "$$missing$$optional" ]; then \
		echo "installing:$$missing$$optional"; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make $(1): run as root to install:$$missing$$optional" >&2; exit 1; \
		fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq || exit 1; \
		if [ -n "$$missing" ]; then \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
		fi; \
		for p in $$optional; do \
			apt-get install -y -qq --no-install-recommends $$p >/dev/null || \
				echo "$(1): $$p not installed (optional)"; \
		done; \
	fi
endef
dpkg_has = dpkg-query -W -f='$${Status}' $(1) 2>/dev/null | grep -q 'ok installed'

# Installs the Debian packages the build and the tests need, if missing.
deps:
	$(call apt_install,deps,$(DEPS_PKGS),$(DEPS_OPT_PKGS))

run: deps
	$(Q)$(MAKE) --no-print-directory all
	./tcplinger

test: deps
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)$(MAKE) --no-print-directory SAN=1 test-bins
	$(Q)python3 tests/run_tests.py --build .output --san-build .output-san

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf .output .output-san tcplinger

# ---------------------------------------------------------------- install
# make install [PREFIX=/usr/local] [DESTDIR=]: what a Debian package would
# ship.  It installs the tracer `make` built (building it only if it is
# missing or stale, never as a side effect of anything else): run `make`
# first as yourself, then `make install` as root.  The man page is
# compressed as dh_compress does (gzip -9n: no name, no time stamp, so the
# same page gives the same bytes).  systemd reads units from
# /usr/lib/systemd/system and /usr/local/lib/systemd/system alike.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MAN8DIR ?= $(PREFIX)/share/man/man8
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
GRAFANADIR ?= $(PREFIX)/share/tcplinger/grafana
INSTALL ?= install
INSTALLED_FILES := $(SBINDIR)/tcplinger $(MAN8DIR)/tcplinger.8.gz $(BASHCOMPDIR)/tcplinger \
	$(SYSTEMDUNITDIR)/tcplinger.service $(GRAFANADIR)/tcplinger.json

.PHONY: install uninstall

ifeq ($(SAN),1)
install uninstall:
	@echo "make $@: not with SAN=1 (the sanitizer build is for tests)" >&2; exit 1
else
install: $(OUTPUT)/tcplinger doc/tcplinger.8 dist/tcplinger.bash-completion dist/tcplinger.service.in \
		dist/grafana/tcplinger.json
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(GRAFANADIR)
	$(Q)$(INSTALL) -m 0755 $(OUTPUT)/tcplinger $(DESTDIR)$(SBINDIR)/tcplinger
	$(Q)gzip -9n -c doc/tcplinger.8 > $(DESTDIR)$(MAN8DIR)/tcplinger.8.gz
	$(Q)chmod 0644 $(DESTDIR)$(MAN8DIR)/tcplinger.8.gz
	$(Q)$(INSTALL) -m 0644 dist/tcplinger.bash-completion $(DESTDIR)$(BASHCOMPDIR)/tcplinger
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' dist/tcplinger.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/tcplinger.service
	$(Q)chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/tcplinger.service
	$(Q)$(INSTALL) -m 0644 dist/grafana/tcplinger.json $(DESTDIR)$(GRAFANADIR)/tcplinger.json

# Exactly the files install wrote; the directories may hold other packages' files,
# except share/tcplinger, which is ours alone (removed once empty).
uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	$(Q)for d in $(DESTDIR)$(PREFIX)/share/tcplinger/grafana $(DESTDIR)$(PREFIX)/share/tcplinger; do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d; done
endif

-include $(wildcard $(OUTPUT)/user/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/fuzz/*.d)

# ---------------------------------------------------------------- bench
# make bench (root; not part of make test; about 6 minutes): the tracer's
# cost under connection churn against no tracer, an empty BPF program,
# tcpstates and a bpftrace script, plus replay speed and memory per
# connection (tests/bench/bench.py).  Table: .output/bench/results.md.
# Bench-only packages are installed here, not by deps (perf is optional).
BENCH_PKGS := bpftrace libbpf-tools
BENCH_OPT_PKGS := linux-perf
BENCH_DIR := $(OUTPUT)/bench
BENCH_BINS := $(BENCH_DIR)/churn_load $(BENCH_DIR)/hold_conns $(BENCH_DIR)/empty_loader \
	$(BENCH_DIR)/empty.bpf.o
BENCH_ARGS ?=

.PHONY: bench bench-deps bench-bins

$(BENCH_DIR):
	$(Q)mkdir -p $@

$(BENCH_DIR)/churn_load $(BENCH_DIR)/hold_conns: $(BENCH_DIR)/%: tests/bench/%.c tests/bench/bench.h tests/testprog.h \
		| $(BENCH_DIR)
	$(call msg,CC-BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $< -lpthread -o $@

$(BENCH_DIR)/empty_loader: tests/bench/empty_loader.c | $(BENCH_DIR)
	$(call msg,CC-BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(LIBBPF_CFLAGS) $< $(LDLIBS) -o $@

$(BENCH_DIR)/empty.bpf.o: tests/bench/empty.bpf.c | $(BENCH_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) $(LIBBPF_CFLAGS) \
		$(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

bench-bins: $(OUTPUT)/tcplinger $(BENCH_BINS)

bench-deps:
	$(call apt_install,bench-deps,$(BENCH_PKGS),$(BENCH_OPT_PKGS))

bench: deps bench-deps
	$(Q)$(MAKE) --no-print-directory all bench-bins
	$(Q)python3 tests/bench/bench.py --build $(OUTPUT) $(BENCH_ARGS)
