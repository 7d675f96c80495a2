# vaultdb. "make test" runs every test.

GO       ?= go
FUZZTIME ?= 30s
# Packages with fuzz targets; "make fuzz" runs each target for FUZZTIME.
FUZZ_PKGS = ./vault/format ./internal/otp

.PHONY: all build install test bench fuzz crash-test clean

all: build

# The version "vaultdb --version" prints: git describe in a clone (without
# one, the binary reads what the Go toolchain recorded in it).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS  = $(if $(VERSION),-X github.com/vaultdb/vaultdb/cmd.version=$(VERSION))

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/vaultdb .

install:
	$(GO) install -ldflags "$(LDFLAGS)" .

test:
	$(GO) vet ./...
	$(GO) test -race ./...

# The harness prints the workload table and writes bench/results.json (see
# docs/performance.md); the micro-benchmarks go to bench/micro.txt for benchstat.
bench:
	$(GO) run ./bench
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -benchtime 0.5s ./vault/sched ./vault/format | tee bench/micro.txt

fuzz:
	@set -e; for p in $(FUZZ_PKGS); do \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$p/*_test.go | sed 's/^func //'); do \
			echo "== $$p $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$p; \
		done; \
	done

# The long crash tests (make test runs a short form); see docs/reliability.md.
crash-test:
	VAULTDB_CRASH_KILLS=500 VAULTDB_CRASH_OPS=60 $(GO) test -race -count=1 -timeout 30m -run '^TestCrash' -v ./e2e

clean:
	rm -rf bin
