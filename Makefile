# vaultdb. "make test" runs every test.

GO       ?= go
FUZZTIME ?= 30s
# Packages with fuzz targets; "make fuzz" runs each target for FUZZTIME.
FUZZ_PKGS = ./vault/format ./internal/otp ./internal/agent

.PHONY: all build install web-embed test check-model bench fuzz crash-test interop-test clean rs-servers lint tools cross web web-deps bench-web

all: build

# The version "vaultdb --version" prints: git describe in a clone (without
# one, the binary reads what the Go toolchain recorded in it).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS  = $(if $(VERSION),-X github.com/vaultdb/vaultdb/internal/cli.version=$(VERSION))

# "vaultdb web" serves the page from the binary: build and install first
# build the page into internal/webui/site and embed it (tag webembed). A
# plain "go build" or "go install" makes a vaultdb whose "vaultdb web" says
# to use these instead.
build: web-embed
	$(GO) build -tags webembed -ldflags "$(LDFLAGS)" -o bin/vaultdb .

install: web-embed
	$(GO) install -tags webembed -ldflags "$(LDFLAGS)" .

WEBEMBED = internal/webui/site
web-embed:
	rm -rf $(WEBEMBED)
	$(MAKE) --no-print-directory web WEBDIR=$(WEBEMBED)

# The remoteStorage servers the tests start (armadietto and
# remotestorage-server, pinned in testdata/rs-servers/package-lock.json).
# Run once; without them those tests skip (and fail when CI is set).
rs-servers:
	cd testdata/rs-servers && npm ci --no-audit --no-fund

# The web page as a static folder any static host serves: the engine
# compiled to WebAssembly twice, Go's wasm_exec.js (lib/wasm since Go 1.24,
# misc/wasm before) and the page. vaultdb.wasm opens the stores kept in the
# browser; vaultdb-remote.wasm (-tags remote) also opens remoteStorage and
# Dropbox stores, whose adapters send their requests with the browser's
# fetch (adapters/wire, internal/jsfetch), so neither links net/http or
# crypto/tls (web/deps_test.go checks); the page loads the larger one only
# for a remote store. Issue 16's target: each at most 2 MB gzipped.
WEBDIR  ?= bin/web
web:
	mkdir -p $(WEBDIR)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -o $(WEBDIR)/vaultdb.wasm ./web/wasm
	GOOS=js GOARCH=wasm $(GO) build -trimpath -tags remote -o $(WEBDIR)/vaultdb-remote.wasm ./web/wasm
	root="$$($(GO) env GOROOT)"; \
	if [ -f "$$root/lib/wasm/wasm_exec.js" ]; then cp "$$root/lib/wasm/wasm_exec.js" $(WEBDIR)/; \
	else cp "$$root/misc/wasm/wasm_exec.js" $(WEBDIR)/; fi
	cp web/static/* $(WEBDIR)/
	@for w in vaultdb vaultdb-remote; do \
		echo "$(WEBDIR)/$$w.wasm: $$(wc -c < $(WEBDIR)/$$w.wasm) bytes, $$(gzip -9 -c $(WEBDIR)/$$w.wasm | wc -c) gzipped (gzip -9)"; done

# The page's unlock time: WebCrypto's PBKDF2 in headless Chromium against
# the command line's (Go, native) at the default 600,000 iterations, in one
# run (issue 16's target: at most 2x).
bench-web:
	VAULTDB_MEASURE=1 $(GO) test -count=1 -run '^TestBrowser$$' -v ./web | grep -E 'kdf at|^(ok|FAIL|---)'

# playwright-core (pinned in web/test/package-lock.json; it downloads no
# browser) for the browser tests, which use Debian's chromium. Run once.
web-deps:
	cd web/test && npm ci --no-audit --no-fund

# Lint tools, pinned; "make tools" installs them from the Go module proxy
# into $(go env GOPATH)/bin (.ci/run does).
STATICCHECK_VERSION = v0.8.2
GOVULNCHECK_VERSION = v1.9.0
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
# The engine, which must build for a browser (js/wasm).
ENGINE_PKGS = ./vault/... ./adapters ./adapters/memory ./adapters/retry ./adapters/trace ./adapters/stack ./internal/jsonobj

tools:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

# gofmt, vet, staticcheck (staticcheck.conf), govulncheck (skipped with a
# message when its database cannot be reached), and the cross-builds.
lint: cross
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt: not formatted (run gofmt -w):"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN_DIR)/staticcheck ./...
	GOVULNCHECK=$(GOBIN_DIR)/govulncheck .ci/govulncheck

# The command line builds on the other systems it is meant for; the engine
# and the page's wasm (both builds) build for the browser.
cross:
	GOOS=darwin $(GO) build ./...
	GOOS=freebsd $(GO) build ./...
	GOOS=js GOARCH=wasm $(GO) build $(ENGINE_PKGS) ./adapters/indexeddb ./adapters/localstorage ./web/wasm
	GOOS=js GOARCH=wasm $(GO) build -tags remote -o /dev/null ./web/wasm

# The model checker (vault/vaultsim) runs without -race: its schedules are
# serialised by the simulator, and the race detector makes it 6x slower. It
# runs beside the race-checked packages, and those run more packages (-p)
# and tests (-parallel) at once than there are cores: most of the suite
# waits on processes, servers and a browser, not on the CPU (on 2 cores,
# make test used about a third of the CPU time it had). The model checker
# is CPU-bound, one goroutine, and the longest package, so it runs as four
# processes: TestModel's migrate and rotate scenarios, the rest of
# TestModel, TestRandomFaults, the other tests (the first three of about
# the same length). -run/-skip make the parts complements: a test or
# scenario added or renamed still runs exactly once.
TESTFLAGS ?= -p 4 -parallel 6
SIM_MIGRATE = ^TestModel$$/^(migrate|rotate):
test:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./web/wasm ./adapters/indexeddb ./adapters/localstorage ./internal/jsutil ./internal/jsfetch
	GOOS=js GOARCH=wasm $(GO) vet -tags remote ./web/wasm
	@sim=$$(mktemp -d); echo "$(GO) test ./vault/vaultsim (beside the others, in four parts)"; \
	$(GO) test -run '$(SIM_MIGRATE)' ./vault/vaultsim > $$sim/1 2>&1 & pid1=$$!; \
	$(GO) test -run '^TestModel$$' -skip '$(SIM_MIGRATE)' ./vault/vaultsim > $$sim/2 2>&1 & pid2=$$!; \
	$(GO) test -run '^TestRandomFaults$$' ./vault/vaultsim > $$sim/3 2>&1 & pid3=$$!; \
	$(GO) test -skip '^(TestModel|TestRandomFaults)$$' ./vault/vaultsim > $$sim/4 2>&1 & pid4=$$!; \
	echo "$(GO) test -race $(TESTFLAGS) ..."; \
	$(GO) test -race $(TESTFLAGS) $$($(GO) list ./... | grep -v /vault/vaultsim); st=$$?; \
	wait $$pid1; st1=$$?; wait $$pid2; st2=$$?; wait $$pid3; st3=$$?; wait $$pid4; st4=$$?; \
	echo "vault/vaultsim, TestModel's migrate and rotate scenarios:"; cat $$sim/1; \
	echo "vault/vaultsim, the rest of TestModel:"; cat $$sim/2; \
	echo "vault/vaultsim, TestRandomFaults:"; cat $$sim/3; \
	echo "vault/vaultsim, the other tests:"; cat $$sim/4; rm -rf $$sim; \
	test $$st -eq 0 && test $$st1 -eq 0 && test $$st2 -eq 0 && test $$st3 -eq 0 && test $$st4 -eq 0

# The full model check: every scenario, every shard placement, exhaustive up
# to equivalent schedules; the counts go to docs/reliability.md.
check-model:
	VAULTSIM_FULL=1 $(GO) test -count=1 -timeout 120m -v -run 'TestModel|TestRandomLarger|TestRandomMigrations|TestPriorityMigrations|TestRandomFaults' ./vault/vaultsim | grep -E '^(model:|---|ok|FAIL|PASS)'

# The harness prints the workload table and writes bench/results.json (see
# docs/performance.md); the micro-benchmarks of the hot paths (routing, shard
# decode/encode, planning, a write round, cached reads) go to bench/micro.txt
# for benchstat.
bench:
	$(GO) run ./bench
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -benchtime 0.5s ./vault/sched ./vault/format ./vault | tee bench/micro.txt

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

# The long interop tests with the reference implementation (make test runs a
# short form): 20 counter runs of 2 vaultdb + 2 reference processes x 200
# increments, 5 mixed runs x 200 operations per process, the killed
# writers. CI=1: fail, never skip, when node or ../shared/reference-js is
# missing. See docs/reliability.md.
interop-test:
	CI=1 VAULTDB_INTEROP_RUNS=20 VAULTDB_INTEROP_INCS=200 VAULTDB_INTEROP_OPS=200 VAULTDB_INTEROP_MIX_RUNS=5 \
		$(GO) test -count=1 -timeout 60m -v ./e2e/interop | grep -E '^(---|ok|FAIL|PASS|\s+\S+_test.go)'

clean:
	rm -rf bin
