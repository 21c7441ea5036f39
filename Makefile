# sgguard — build, test, install.
#
#   make            build ./build/sgguard
#   make check      install missing deps, build, run every test (plain and ASan+UBSan)
#   make deps       install what is missing (apt as root, pip for the Python test tools)
#   make deps-build only the Debian packages the build needs (a host that runs sgguard)
#   make install    PREFIX=/usr/local DESTDIR=
#
VERSION    := 0.1.0

PREFIX     ?= /usr/local
sbindir    ?= $(PREFIX)/sbin
sysconfdir ?= /etc
datadir    ?= $(PREFIX)/share
catalogdir ?= $(shell pkg-config --variable=catalogdir systemd 2>/dev/null || echo /usr/lib/systemd/catalog)
mandir     ?= $(datadir)/man
docdir     ?= $(datadir)/doc/sgguard
unitdir    ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
DESTDIR    ?=

CC         ?= cc
PKG_CONFIG ?= pkg-config
PKGS       := libcurl libcrypto jansson libsystemd inih expat

# BUILD selects the output tree; SAN=1 builds everything with ASan+UBSan.
BUILD      ?= build
SAN        ?=

WARN       := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
              -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
HARDEN     := -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=3
ifeq ($(SAN),1)
OPT        := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
HARDEN     := -fstack-protector-strong -fPIE
SANLD      := -fsanitize=address,undefined
else
OPT        := -O2 -g
SANLD      :=
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CPPFLAGS   += -Iinclude -D_GNU_SOURCE -DSGGUARD_VERSION='"$(VERSION)"'
CFLAGS     ?=
CFLAGS     += $(WARN) $(HARDEN) $(OPT) $(PKG_CFLAGS)
LDFLAGS    += -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SANLD)
LDLIBS     += $(PKG_LIBS) -lm

SRCS       := $(wildcard src/*.c)
LIB_SRCS   := $(filter-out src/main.c,$(SRCS))
LIB_OBJS   := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS  := $(wildcard tests/tools/*.c)
TOOL_BINS  := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
CMOCKA_LIBS:= $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

SHARED_DIR ?= $(abspath ../shared)

.PHONY: all check test test-plain test-san deps deps-build deps-apt clean install uninstall tests tools demo lint \
        check-systemd fuzz stress bench

all: $(BUILD)/sgguard

$(BUILD)/sgguard: $(BUILD)/obj/main.o $(BUILD)/libsgguard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libsgguard.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Every object depends on every header, the private ones in src/ too
# (daemon_int.h lays out the structs daemon.c, groups.c and drift.c share).
$(BUILD)/obj/%.o: src/%.c $(wildcard include/*.h src/*.h) | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj:
	@mkdir -p $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsgguard.a $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(BUILD)/libsgguard.a $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libsgguard.a $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(BUILD)/libsgguard.a $(LDLIBS)

tests: $(BUILD)/sgguard $(UNIT_BINS) $(TOOL_BINS)

# One run of the whole suite against one build tree.
test: tests
	SGGUARD_BUILD=$(abspath $(BUILD)) SHARED_DIR=$(SHARED_DIR) tests/run-tests --results build/results

test-plain:
	$(MAKE) test BUILD=build

test-san:
	SGGUARD_TREE_INDEX=1 $(MAKE) test BUILD=build/san SAN=1

# The suite twice: the hardened build, then ASan+UBSan. The final line is
# the combined "N passed, N failed".
check: deps
	@mkdir -p build && rm -f build/results
	@# Both trees build first, then their suites run side by side: most
	@# of the suite's time is spent waiting (timeouts, the local AWS).
	@$(MAKE) --no-print-directory tests BUILD=build
	@$(MAKE) --no-print-directory tests BUILD=build/san SAN=1
	@SGGUARD_TREES=2 SGGUARD_LANES=2 $(MAKE) --no-print-directory -j2 test-plain test-san || true
	@tests/run-tests --summarize build/results

# Debian packages the build needs (deps-build: all a host that only runs
# sgguard needs), and those the tests add (deps: the demo and make check).
# Installed with apt-get when run as root; otherwise the exact command is
# printed and the target fails.
DEB_BUILD := gcc make pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev \
             libsystemd-dev libinih-dev libexpat1-dev
DEB_PKGS  := $(DEB_BUILD) libcmocka-dev python3 python3-pip \
             faketime valgrind cppcheck clang-tidy clang libclang-rt-14-dev

deps-build:
	@$(MAKE) --no-print-directory deps-apt DEB_PKGS="$(DEB_BUILD)"

deps: deps-apt
	@python3 -c 'import moto' 2>/dev/null || { \
	    echo "deps: installing the Python test tools (moto server, boto3, aws CLI)"; \
	    python3 -m pip install --quiet 'moto[server]' boto3 awscli 2>/dev/null || \
	    python3 -m pip install --quiet --break-system-packages 'moto[server]' boto3 awscli; }

deps-apt:
	@missing=""; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "deps: installing$$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	    else \
	        echo "deps: missing Debian packages; run: sudo apt-get install -y$$missing"; exit 1; \
	    fi; \
	fi

# Static analysis with the checked-in configuration (.clang-tidy).
lint:
	tests/lint

# A real systemd as PID 1 in its own root (debootstrap + systemd-nspawn).
check-systemd: all
	tests/systemd/run

# The daemon doing its job against the bundled local AWS, in the foreground.
demo: deps all
	python3 tests/demo/demo.py

# Crash safety at length: kill -9 at random moments, STRESS_RUNS times.
STRESS_RUNS ?= 200
stress: all
	tests/stress/run $(STRESS_RUNS)

# Benchmarks against the Python peer (bench/README.md); never timed tests.
bench: deps all
	bench/run

# libFuzzer targets, each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(sysconfdir) $(DESTDIR)$(unitdir) \
	    $(DESTDIR)$(docdir) $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 \
	    $(DESTDIR)$(catalogdir)
	install -m 0755 $(BUILD)/sgguard $(DESTDIR)$(sbindir)/sgguard
	@# An existing configuration is never overwritten.
	@if [ -e $(DESTDIR)$(sysconfdir)/sgguard.ini ]; then \
	    echo "keeping existing $(DESTDIR)$(sysconfdir)/sgguard.ini"; \
	else install -m 0644 etc/sgguard.ini $(DESTDIR)$(sysconfdir)/sgguard.ini; fi
	install -m 0644 etc/sgguard.ini $(DESTDIR)$(docdir)/sgguard.ini.example
	sed 's|@sbindir@|$(sbindir)|g; s|@sysconfdir@|$(sysconfdir)|g' systemd/sgguard.service \
	    > $(DESTDIR)$(unitdir)/sgguard.service
	chmod 0644 $(DESTDIR)$(unitdir)/sgguard.service
	install -m 0644 systemd/sgguard.catalog $(DESTDIR)$(catalogdir)/sgguard.catalog
	install -m 0644 docs/sgguard.8 $(DESTDIR)$(mandir)/man8/sgguard.8
	install -m 0644 docs/sgguard.ini.5 $(DESTDIR)$(mandir)/man5/sgguard.ini.5
	install -m 0644 docs/iam-policy.json docs/iam-policy-restore.json \
	    docs/iam-policy-accounts.json docs/cloudformation.yaml \
	    docs/cloudformation-target-account.yaml README.md $(DESTDIR)$(docdir)/
	@if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null; then journalctl --update-catalog || true; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi

uninstall:
	rm -f $(DESTDIR)$(sbindir)/sgguard $(DESTDIR)$(unitdir)/sgguard.service \
	    $(DESTDIR)$(catalogdir)/sgguard.catalog $(DESTDIR)$(mandir)/man8/sgguard.8 \
	    $(DESTDIR)$(mandir)/man5/sgguard.ini.5
	rm -rf $(DESTDIR)$(docdir)
	@echo "left $(DESTDIR)$(sysconfdir)/sgguard.ini in place (your configuration)"

clean:
	rm -rf build
