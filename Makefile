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

bench:
	$(GO) test -run '^$$' -bench . ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./vault/format; \
	done

clean:
	rm -rf bin
