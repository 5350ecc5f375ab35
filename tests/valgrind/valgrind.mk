# tests/valgrind/valgrind.mk - `make valgrind`: the fast unit tests and a
# command-line round trip under valgrind memcheck (tests/valgrind/README.md).
# It builds its own plain -O1 -g tree in build/valgrind/ (no sanitizers: they
# do not mix with valgrind) and fails on any memcheck error or any definitely
# or indirectly lost block.  VALGRIND_CORPUS=1 adds verify and restore of
# every hostile corpus case (about 20 minutes more).
VALGRIND_BUILD := build/valgrind
VALGRIND_CORPUS ?=

.PHONY: valgrind
valgrind: | deps
	$(MAKE) --no-print-directory BUILD=$(VALGRIND_BUILD) SANITIZE= CFLAGS="-O1 -g" \
		$(VALGRIND_BUILD)/clawstate unit
	@BUILD=$(VALGRIND_BUILD) VALGRIND_CORPUS=$(VALGRIND_CORPUS) sh tests/valgrind/run.sh
