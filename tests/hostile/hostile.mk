# tests/hostile/hostile.mk - the committed hostile-input corpus (tests/hostile/README.md).
#
#   make hostile-corpus        rewrite tests/hostile/corpus/ with `mkhostile --corpus`
#   make hostile-corpus-check  regenerate into a temp dir and compare with the committed files
#
# The generator seeds its randomness with each case's name, so regenerating gives the
# same bytes (with the same libarchive and zstd).  No test runs either target:
# tests/cli/hostile_corpus.sh reads the committed files.
HOSTILE_CORPUS := tests/hostile/corpus

.PHONY: hostile-corpus hostile-corpus-check
hostile-corpus: $(HOSTILE_BIN)
	@mkdir -p $(HOSTILE_CORPUS)
	rm -f $(HOSTILE_CORPUS)/*.cst $(HOSTILE_CORPUS)/*.expect
	ASAN_OPTIONS=detect_leaks=0 $(HOSTILE_BIN) --corpus $(HOSTILE_CORPUS)
	chmod 644 $(HOSTILE_CORPUS)/*

hostile-corpus-check: $(HOSTILE_BIN)
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/clawstate-corpus.XXXXXX") && \
	ASAN_OPTIONS=detect_leaks=0 $(HOSTILE_BIN) --corpus $$tmp >/dev/null && \
	if diff -r -x README.md $$tmp $(HOSTILE_CORPUS) >/dev/null; then \
		echo "hostile corpus: regenerated, identical"; rm -rf $$tmp; \
	else \
		diff -rq -x README.md $$tmp $(HOSTILE_CORPUS); rm -rf $$tmp; exit 1; \
	fi
