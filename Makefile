# clawstate - a plain GNU Makefile.
#
# Variables (override on the command line):
#   PREFIX    install prefix                       (/usr/local)
#   DESTDIR   staging root for packagers           (empty)
#   CC        C compiler                           (cc)
#   CFLAGS    extra compiler flags                 (-O2 -g)
#   SANITIZE  1 = build with ASan + UBSan into build-asan/
#   BUILD     object/binary dir                    (build, or build-asan)
#
# Targets: all (default), test, demo, deps, install, asan, bench, clean, and
# from tests/*/*.mk: crash, faults, fuzz, fuzz-smoke, fuzz-build, valgrind,
# hostile-corpus-check (docs/RELIABILITY.md).

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
CFLAGS   ?= -O2 -g
PKGS     := lmdb libsodium libarchive libzstd libcjson sqlite3

ifeq ($(SANITIZE),1)
BUILD    ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD    ?= build
SANFLAGS :=
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN     := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
ALL_CFLAGS  = $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE -Ivault $(PKG_CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

LIB_SRC  := $(sort $(wildcard vault/*.c migrations/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIB      := $(BUILD)/libclawstate.a
BIN      := $(BUILD)/clawstate

DEB_PKGS := gcc libc6-dev liblmdb-dev libsodium-dev libarchive-dev libzstd-dev libcjson-dev \
            libsqlite3-dev pkg-config sqlite3 python3 attr util-linux time \
            clang libclang-rt-14-dev valgrind

.PHONY: all test unit demo deps install asan bench clean
all: $(BIN)

# Installs the Debian packages the build and the tests need, when missing.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD)/%.o: %.c vault/clawstate.h vault/internal.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

unit: $(UNIT_BIN)

test: $(BIN) $(UNIT_BIN)
	@BUILD=$(BUILD) sh tests/run.sh

demo: $(BIN)
	@BUILD=$(BUILD) sh tests/demo.sh

asan:
	$(MAKE) SANITIZE=1 test

bench: $(BIN)
	@BUILD=$(BUILD) sh tests/bench.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/clawstate
	install -m 0644 docs/clawstate.1 $(DESTDIR)$(PREFIX)/share/man/man1/clawstate.1

clean:
	rm -rf build build-asan build-fuzz

# ---- hostile-input generator (tests/hostile/, used by tests/cli/hostile_*.sh) ----
# Built by `make unit` and `make test`; links the library and vault/internal.h.
HOSTILE_BIN := $(BUILD)/tests/mkhostile
HOSTILE_SRC := tests/hostile/mkhostile.c tests/hostile/craft.c
$(HOSTILE_BIN): $(HOSTILE_SRC) tests/hostile/craft.h vault/clawstate.h vault/internal.h $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(HOSTILE_SRC) $(LIB) $(PKG_LIBS)
unit: $(HOSTILE_BIN)
test: $(HOSTILE_BIN)

# ---- the reliability harness's own targets (crash, fuzz, valgrind): one
# fragment per part, beside its sources ----
include $(sort $(wildcard tests/*/*.mk))
