# pushcert: `make run` runs the conformance suite and then a 20-second seats load run against the
# embedded reference server and writes both reports under out/; `make test` runs every test a
# fresh machine can run.
GO      ?= go
BIN     := bin/pushcert
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build run serve test test-go test-interop vet lint-ci fuzz bench accuracy dist image clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/pushcert

run: build
	./$(BIN) check --out out
	./$(BIN) load --scenario seats --clients 1000 --rooms 10 --duration 20s --out out/load

# Release binaries: static (no cgo), the version and commit stamped in, one per platform, with
# their SHA-256 sums, under dist/.
DIST_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
dist:
	@rm -rf dist && mkdir -p dist
	@set -e; for p in $(DIST_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
	  out=dist/pushcert-$(VERSION)-$$os-$$arch$$ext; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $$out ./cmd/pushcert; \
	  echo "$$out"; \
	done
	@cd dist && sha256sum pushcert-* > SHA256SUMS && cat SHA256SUMS

# The container image pushcert:$(VERSION) (and :latest): FROM scratch, the static binary and the
# system's CA bundle, built without a registry.
IMAGE ?= pushcert
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
image:
	@rm -rf build/image && mkdir -p build/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o build/image/pushcert ./cmd/pushcert
	cp $(CA_BUNDLE) build/image/ca-certificates.crt
	docker build -q -f Dockerfile -t $(IMAGE):$(VERSION) -t $(IMAGE):latest build/image

# The reference server with a ready-to-use demo app, until Ctrl-C.
serve: build
	./$(BIN) serve --demo

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The workflows and the action (actionlint, pinned; it also shellchecks their run: scripts) and
# every shell script (shellcheck, which .ci/run installs; without it, one line says SKIP).
ACTIONLINT ?= github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
SCRIPTS := .ci/run action/check.sh $(wildcard deploy/profile/*.sh)
lint-ci:
	$(GO) run $(ACTIONLINT) -no-color .github/workflows/*.yml
	@if command -v shellcheck >/dev/null; then shellcheck $(SCRIPTS) && echo "shellcheck: $(SCRIPTS)"; \
	  else echo "SKIP shellcheck: not installed (apt-get install shellcheck; .ci/run installs it)"; fi

# Unit, integration and fuzz-corpus tests with the race detector, then the real JavaScript clients.
test: vet lint-ci test-go test-interop

test-go:
	$(GO) test -race -count=1 -timeout 10m ./...
	# The poller used where there is no epoll, run here on Linux.
	$(GO) test -race -count=1 -tags pollfallback -run 'TestPoller|TestSeatsAndAvailability|TestReconnectStorm|TLS|Proxy' ./loadgen
	# Other systems build: macOS and Windows use that poller (Windows reading each connection itself).
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...

# The load generator's measurement checked to 0.1 ms against a server that delays deliveries by
# exactly 5 ms: a precision check, run by hand on a quiet machine (a busy one misses it).
accuracy:
	PUSHCERT_ACCURACY=1 $(GO) test -count=1 -v -run 'TestMeasures' ./loadgen

interop/node_modules: interop/package-lock.json
	cd interop && npm ci --no-audit --no-fund
	@touch $@

test-interop: build interop/node_modules
	$(GO) build -o bin/gotrigger ./interop/gotrigger
	cd interop && PUSHCERT_BIN=$(CURDIR)/$(BIN) PUSHCERT_GOTRIGGER=$(CURDIR)/bin/gotrigger node --test --test-concurrency=1

# Coverage-guided fuzzing of every decoder of untrusted input: each Fuzz target of each package,
# FUZZTIME per target.
FUZZTIME ?= 60s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; \
	    $(GO) test -run '^$$$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# Broadcast benchmarks (allocations per delivery, deliveries per second) and memory per connection.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./refserver
	$(GO) test -run '^TestMemoryPerConnection$$' -v -count=1 ./refserver -args -memconns 5000

clean:
	rm -rf bin out dist build
