# vaultdb. "make test" runs every test.

GO       ?= go
FUZZTIME ?= 30s
# Packages with fuzz targets; "make fuzz" runs each target for FUZZTIME.
FUZZ_PKGS = ./vault/format ./internal/otp

.PHONY: all build install test check-model bench fuzz crash-test clean rs-servers

all: build

# The version "vaultdb --version" prints: git describe in a clone (without
# one, the binary reads what the Go toolchain recorded in it).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS  = $(if $(VERSION),-X github.com/vaultdb/vaultdb/cmd.version=$(VERSION))

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/vaultdb .

install:
	$(GO) install -ldflags "$(LDFLAGS)" .

# The remoteStorage servers the tests start (armadietto and
# remotestorage-server, pinned in testdata/rs-servers/package-lock.json).
# Run once; without them those tests skip (and fail when CI is set).
rs-servers:
	cd testdata/rs-servers && npm ci --no-audit --no-fund

# The model checker (vault/vaultsim) runs without -race: its schedules are
# serialised by the simulator, and the race detector makes it 6x slower.
test:
	$(GO) vet ./...
	$(GO) test -race $$($(GO) list ./... | grep -v /vault/vaultsim)
	$(GO) test ./vault/vaultsim

# The full model check: every scenario, every shard placement, exhaustive up
# to equivalent schedules; the counts go to docs/reliability.md.
check-model:
	VAULTSIM_FULL=1 $(GO) test -count=1 -timeout 120m -v -run 'TestModel|TestRandomLarger' ./vault/vaultsim | grep -E '^(model:|---|ok|FAIL|PASS)'

# The harness prints the workload table and writes bench/results.json (see
# docs/performance.md); the micro-benchmarks go to bench/micro.txt for benchstat.
bench:
	$(GO) run ./bench
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -benchtime 0.5s ./vault/sched ./vault/format | tee bench/micro.txt

fuzz:
	@set -e; for p in $(FUZZ_PKGS); do \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$p/*_test.go | sed 's/^func //'); do \
			echo "== $$p $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -timeout 0 $$p; \
		done; \
	done

# The long crash tests (make test runs a short form); see docs/reliability.md.
crash-test:
	VAULTDB_CRASH_KILLS=500 VAULTDB_CRASH_OPS=60 $(GO) test -race -count=1 -timeout 30m -run '^TestCrash' -v ./e2e

clean:
	rm -rf bin
