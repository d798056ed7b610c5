# pgkeep build, test and lint targets. pg_query_go compiles libpg_query with
# cgo, so every target that builds needs gcc.

GO        ?= go
BIN       := bin/pgkeep
DATA_DIR  ?= ./pgkeep-data
# Generous: the race detector slows every test down, and CI machines have
# two cores.
TEST_TIMEOUT ?= 30m

export CGO_ENABLED := 1

.DEFAULT_GOAL := build

.PHONY: build run test clients test-pg fuzz lint bench clean

build:
	$(GO) build -o $(BIN) ./cmd/pgkeep

run: build
	./$(BIN) serve --data-dir $(DATA_DIR)

# The go tool leaves directories named testdata out of ./..., so the SQL
# logic tests are named explicitly.
test: clients
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./... ./testdata/

# clients installs the PostgreSQL clients the end-to-end suite runs (Debian
# packages as root, and npm's pg); it installs only what is missing.
clients:
	bash .ci/install-clients

# test-pg runs the tests in ./testdata against a real PostgreSQL: the .slt
# files, and the differential fuzz test for PGKEEP_DIFF_QUERIES statements
# of seed PGKEEP_DIFF_SEED, or for PGKEEP_DIFF_TIME when that is set (a Go
# duration; a longer run needs a TEST_TIMEOUT above it). The default run is
# the same on every machine, so CI fails only on a change, never on a new
# random statement. The server is the oracle that PG_ORACLE_DIR/start-pg.sh
# starts (reused when it already runs), or, when that script does not
# exist, a private one that scripts/test-pg.sh sets up.
PG_ORACLE_DIR ?= ../shared/tools/pg-oracle
PGKEEP_DIFF_SEED ?= 1
PGKEEP_DIFF_QUERIES ?= 800
PGKEEP_DIFF_TIME ?=
test-pg:
	GO='$(GO)' PG_ORACLE_DIR='$(PG_ORACLE_DIR)' TEST_TIMEOUT='$(TEST_TIMEOUT)' \
		PGKEEP_DIFF_SEED='$(PGKEEP_DIFF_SEED)' PGKEEP_DIFF_QUERIES='$(PGKEEP_DIFF_QUERIES)' \
		PGKEEP_DIFF_TIME='$(PGKEEP_DIFF_TIME)' bash scripts/test-pg.sh

# Each fuzz target runs for FUZZ_TIME, a duration or a count of executions
# such as 150000x; the go tool fuzzes one target per invocation.
FUZZ_TIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzSCRAMClientFirst$$' -fuzztime $(FUZZ_TIME) ./security/
	$(GO) test -run '^$$' -fuzz '^FuzzSCRAMClientFinal$$' -fuzztime $(FUZZ_TIME) ./security/
	$(GO) test -run '^$$' -fuzz '^FuzzJWTFront$$' -fuzztime $(FUZZ_TIME) ./security/
	$(GO) test -run '^$$' -fuzz '^FuzzParseRules$$' -fuzztime $(FUZZ_TIME) ./security/
	$(GO) test -run '^$$' -fuzz '^FuzzBackendMessages$$' -fuzztime $(FUZZ_TIME) ./protocol/

lint:
	$(GO) vet ./... ./testdata/
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt found unformatted files (run gofmt -w on them):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

clean:
	rm -rf bin
