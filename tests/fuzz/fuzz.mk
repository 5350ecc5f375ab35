# tests/fuzz/fuzz.mk - libFuzzer targets for the parsers (tests/fuzz/README.md).
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="json5 journal"]   each target N seconds
#   make fuzz-smoke                                               each target ~20 s (CI)
#   make fuzz-build                                               build them only
#   make fuzz-seeds                                               rebuild tests/fuzz/corpus/
#
# The library is compiled again with clang, -fsanitize=fuzzer-no-link and
# ASan + UBSan, into build-fuzz/ (build/ and build-asan/ are left alone).
# Both run targets fail on any crash, leak, timeout or out-of-memory and print
# the reproducer's path.

FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_ALL           := bheader manifest backup payload json5 journal sqlite
FUZZ_TARGETS       ?= $(FUZZ_ALL)
FUZZ_BUILD         := build-fuzz
FUZZ_SAN           := -fsanitize=address,undefined -fno-sanitize-recover=all \
                      -fno-omit-frame-pointer
FUZZ_CFLAGS         = $(WARN) -O1 -g $(FUZZ_SAN) -D_GNU_SOURCE -Ivault $(PKG_CFLAGS)
FUZZ_LIB_OBJ       := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_LIB           := $(FUZZ_BUILD)/libclawstate.a
FUZZ_BINS          := $(FUZZ_ALL:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SEED_BIN      := $(BUILD)/tests/fuzzseed

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-seeds

$(FUZZ_BUILD)/%.o: %.c vault/clawstate.h vault/internal.h | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB) | deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DFUZZ_KEY_FILE='"$(CURDIR)/tests/fuzz/fake.key"' \
	  -o $@ $< $(FUZZ_LIB) $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@FUZZ_BUILD=$(FUZZ_BUILD) sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_BUILD=$(FUZZ_BUILD) sh tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_ALL)

# The seed generator: a normal build, linked with the normal library.
$(FUZZ_SEED_BIN): tests/fuzz/fuzzseed.c vault/clawstate.h vault/internal.h $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

fuzz-seeds: $(BIN) $(HOSTILE_BIN) $(FUZZ_SEED_BIN)
	@CS=$(BIN) MKHOSTILE=$(HOSTILE_BIN) FUZZSEED=$(FUZZ_SEED_BIN) sh tests/fuzz/mkseeds.sh
