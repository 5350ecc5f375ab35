# tests/crash/crash.mk - the crash-kill harness and the fault-injection shim
# (docs/RELIABILITY.md).
#
#   make crash   CRASH_KILLS=N (3000) CRASH_SEED=S (random, printed)
#                SIGKILL every writing command at test points and at random
#                moments, checking the invariants after every kill
#   make faults  FAULTS_ERRNOS="EIO ENOSPC"
#                every failing write/pwrite/fsync/fdatasync/syncfs/rename/
#                renameat2/close and short or failing read of snapshot,
#                backup, restore and the migrations, through faultshim.so
#
# The shim is built without sanitizers; under SANITIZE=1 the cases preload
# libasan before it.  `make test` builds it for tests/cli/fault_*.sh and
# tests/cli/concurrency.sh.

FAULTSHIM    := $(BUILD)/tests/faultshim.so
CRASH_KILLS  ?= 3000
CRASH_SEED   ?=
CRASH_WORK   ?= $(BUILD)/crash-work
FAULTS_WORK  ?= $(BUILD)/faults-work
FAULTS_ERRNOS ?= EIO ENOSPC

$(FAULTSHIM): tests/crash/faultshim.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -shared -fPIC -O2 -g -Wall -Wextra -Werror -o $@ $< -ldl

unit: $(FAULTSHIM)
test: $(FAULTSHIM)

.PHONY: crash faults
crash: $(BIN)
	@rm -rf $(CRASH_WORK)
	@sh tests/crash/ns.sh $(CRASH_WORK) python3 tests/crash/crash.py --cs $(BIN) \
	  --work $(CRASH_WORK)/crash --kills $(CRASH_KILLS) $(if $(CRASH_SEED),--seed $(CRASH_SEED))
	@rm -rf $(CRASH_WORK)

faults: $(BIN) $(FAULTSHIM)
	@rm -rf $(FAULTS_WORK)
	@sh tests/crash/ns.sh $(FAULTS_WORK) python3 tests/crash/faults.py --cs $(BIN) \
	  --shim $(FAULTSHIM) --work $(FAULTS_WORK)/faults --errnos "$(FAULTS_ERRNOS)"
	@rm -rf $(FAULTS_WORK)
