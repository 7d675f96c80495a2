# vaultdb. "make test" runs every test.

GO       ?= go
FUZZTIME ?= 30s
# Fuzz targets of ./vault/format, one after another.
FUZZ_TARGETS = $(shell grep -ho '^func Fuzz[A-Za-z0-9_]*' vault/format/*_test.go | sed 's/^func //')

.PHONY: all build install test bench fuzz clean

all: build

build:
	$(GO) build -o bin/vaultdb .

install:
	$(GO) install .

test:
	$(GO) vet ./...
	$(GO) test -race ./...

# The harness prints the workload table and writes bench/results.json (see
# docs/performance.md); the micro-benchmarks go to bench/micro.txt for benchstat.
bench:
	$(GO) run ./bench
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -benchtime 0.5s ./vault/sched ./vault/format | tee bench/micro.txt

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./vault/format; \
	done

clean:
	rm -rf bin
