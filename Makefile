# xlb build. Everything lands in $(BUILD); `make V=1` shows the commands.
#
#   make            BPF objects, skeletons, libxlb, programs, tests
#   make test       install missing packages, build, run the whole suite
#                   (root: namespaces, BPF); ends with "N passed, N failed"
#   make test-long  the same for the tests that take minutes (tests/long/*.sh:
#                   SSTP sessions idle for 5 minutes, ...)
#   make bench      the same, then the benchmarks (see BENCHMARKS.md)
#   make demo       the same, then xlb's story in a minute or two, in a lab of
#                   its own (root; scripts/demo.sh: sessions, DSR, drain, a
#                   failed backend, xlbd killed, all shown with numbers)
#   make install    programs, BPF objects, man pages, bash completion, the
#                   systemd unit and the docs under $(DESTDIR)$(PREFIX)
#                   (PREFIX=/usr/local; the unit in SYSTEMD_DIR, by default
#                   $(PREFIX)/lib/systemd/system)
#   make uninstall  remove what install put there
#   make clean

BUILD    ?= build
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
TRIPLET  := $(shell $(CC) -dumpmachine)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
WARN      := -Wall -Wextra -Wno-unused-parameter
CFLAGS    ?= -O2 -g
CFLAGS    += $(WARN) -std=gnu11 -D_GNU_SOURCE -DXLB_VERSION='"$(VERSION)"'  -Iinclude -Iuser/lib -Itests/lib -I$(BUILD)/gen -MMD -MP
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) \
	      -Iinclude -Ibpf -I/usr/include/$(TRIPLET) -MMD -MP
LDLIBS    := -Wl,--as-needed -lxdp -lbpf -lelf -lz -lconfig -lmnl -ljson-c -lmicrohttpd -lpthread -lm -lssl -lcrypto

# ---- sources, discovered by folder -----------------------------------------
BPF_SRCS    := $(wildcard bpf/*.bpf.c) $(wildcard tests/bench/*.bpf.c) $(wildcard tests/bpf/*.bpf.c)
BPF_OBJS    := $(patsubst %.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS       := $(foreach s,$(BPF_SRCS),$(BUILD)/gen/$(notdir $(s:.bpf.c=.skel.h)))

LIB_SRCS    := $(wildcard user/lib/*.c)
LIB_OBJS    := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIBXLB      := $(BUILD)/libxlb.a

PROG_DIRS   := $(filter-out user/lib,$(patsubst %/,%,$(wildcard user/*/)))
PROGS       := $(foreach d,$(PROG_DIRS),$(BUILD)/bin/$(notdir $(d)))

TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TESTLIB_SRCS))
TESTLIB      := $(BUILD)/libxlbtest.a

# each tests/<group>/<name>.c with a main() is one test or tool binary
TEST_SRCS   := $(wildcard tests/unit/*.c tests/bpf/test_*.c tests/tools/*.c tests/bench/*.c)
TEST_SRCS   := $(filter-out %.bpf.c,$(TEST_SRCS))
TEST_BINS   := $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS))

# each tests/fuzz/<name>.c is a libFuzzer target, linked with user/lib built
# by clang with the same sanitizers (not libxlb.a); corpus in tests/fuzz/corpus/<name>
FUZZ_SRCS   := $(wildcard tests/fuzz/*.c)
FUZZ_BINS   := $(patsubst %.c,$(BUILD)/%,$(FUZZ_SRCS))
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = $(CFLAGS) -O1 -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_LIB    := $(BUILD)/fuzz/libxlb.a

all: $(BPF_OBJS) $(SKELS) $(LIBXLB) $(PROGS) $(TEST_BINS) $(FUZZ_BINS)

# ---- BPF -------------------------------------------------------------------
$(BUILD)/%.bpf.o: %.bpf.c
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

define skel_rule
$(BUILD)/gen/$(notdir $(1:.bpf.c=.skel.h)): $(BUILD)/$(1:.bpf.c=.bpf.o)
	$$(call msg,SKEL,$$@)
	@mkdir -p $$(@D)
	$(Q)$(BPFTOOL) gen skeleton $$< name $(subst -,_,$(notdir $(1:.bpf.c=)))_bpf > $$@
endef
$(foreach s,$(BPF_SRCS),$(eval $(call skel_rule,$(s))))

# ---- user space --------------------------------------------------------------
$(BUILD)/user/%.o $(BUILD)/tests/%.o: | $(SKELS)

$(BUILD)/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBXLB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(TESTLIB): $(TESTLIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

define prog_rule
$(BUILD)/bin/$(notdir $(1)): $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c)) $(LIBXLB)
	$$(call msg,LINK,$$@)
	@mkdir -p $$(@D)
	$(Q)$$(CC) $$(CFLAGS) $$^ -o $$@ $$(LDLIBS) $$(PROG_LDLIBS_$(notdir $(1)))
endef
$(foreach d,$(PROG_DIRS),$(eval $(call prog_rule,$(d))))

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB) $(LIBXLB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lm

# ---- fuzz targets --------------------------------------------------------------
$(BUILD)/fuzz/%.o: %.c | $(SKELS)
	$(call msg,CC-FUZZ,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(patsubst %.c,$(BUILD)/fuzz/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/fuzz/%: $(BUILD)/fuzz/tests/fuzz/%.o $(FUZZ_LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS) -lm

# ---- running ---------------------------------------------------------------
# test, bench and demo install what is missing first (Debian packages; a no-op
# when everything is there), so they work on a fresh machine as they are
deps:
	$(Q)scripts/install-deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/run.sh

test-long: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) TEST_GLOBS='tests/long/*.sh' tests/run.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/bench/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

clean:
	rm -rf $(BUILD)

# ---- installing --------------------------------------------------------------
PREFIX      ?= /usr/local
SBINDIR     := $(PREFIX)/sbin
XLBLIBDIR   := $(PREFIX)/lib/xlb
MAN8DIR     := $(PREFIX)/share/man/man8
COMPDIR     := $(PREFIX)/share/bash-completion/completions
DOCDIR      := $(PREFIX)/share/doc/xlb
SYSTEMD_DIR ?= $(PREFIX)/lib/systemd/system

INST_BPF    := $(patsubst %.bpf.c,$(BUILD)/%.bpf.o,$(wildcard bpf/*.bpf.c))
INST_SCRIPTS := scripts/xlb-backend-setup
INST_MAN    := $(wildcard man/*.8)
INST_DOCS   := README.md $(wildcard BENCHMARKS.md)
INST_DOCS2  := $(wildcard docs/*.md)
INST_EXAMPLES := $(wildcard examples/*)

# the unit names its programs under /usr/local: rewritten for PREFIX
install: $(PROGS) $(INST_BPF)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(XLBLIBDIR) $(DESTDIR)$(MAN8DIR) \
		$(DESTDIR)$(COMPDIR) $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSTEMD_DIR)
	$(Q)install -m 0755 $(PROGS) $(INST_SCRIPTS) $(DESTDIR)$(SBINDIR)/
	$(Q)install -m 0644 $(INST_BPF) $(DESTDIR)$(XLBLIBDIR)/
	$(Q)install -m 0644 $(INST_MAN) $(DESTDIR)$(MAN8DIR)/
	$(Q)ln -sf xlb-backend.8 $(DESTDIR)$(MAN8DIR)/xlb-backend-setup.8
	$(Q)install -m 0644 scripts/bash-completion/xlbctl $(DESTDIR)$(COMPDIR)/xlbctl
	$(Q)install -m 0644 $(INST_DOCS) $(DESTDIR)$(DOCDIR)/
	$(Q)install -m 0644 $(INST_DOCS2) $(DESTDIR)$(DOCDIR)/docs/
	$(Q)install -m 0644 $(INST_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	$(Q)sed 's|/usr/local/|$(PREFIX)/|g' scripts/xlbd.service > $(DESTDIR)$(SYSTEMD_DIR)/xlbd.service
	$(Q)chmod 0644 $(DESTDIR)$(SYSTEMD_DIR)/xlbd.service

uninstall:
	$(call msg,REMOVE,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(PROGS) $(INST_SCRIPTS))) \
		$(addprefix $(DESTDIR)$(XLBLIBDIR)/,$(notdir $(INST_BPF))) \
		$(addprefix $(DESTDIR)$(MAN8DIR)/,$(notdir $(INST_MAN)) xlb-backend-setup.8) \
		$(DESTDIR)$(COMPDIR)/xlbctl $(DESTDIR)$(SYSTEMD_DIR)/xlbd.service \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(INST_DOCS) $(INST_DOCS2) $(INST_EXAMPLES))
	$(Q)rmdir $(DESTDIR)$(XLBLIBDIR) $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(DOCDIR) 2>/dev/null || true

.PHONY: all deps test test-long bench demo clean install uninstall

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
