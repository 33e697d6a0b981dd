# Millstream: the two commands a user needs are `make run` and `make test`.
# `make help` lists every target.

GO            ?= go
BIN           := bin
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOTESTSUM     := gotest.tools/gotestsum@v1.13.0
GOFLAGS_BUILD := -trimpath -ldflags='-s -w'
FUZZTIME      ?= 10s
# Directory the broker started by `make run` keeps its data in.
RUN_DATA      ?= ./data

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build static binaries into bin/ (millstream, starter)
	@mkdir -p $(BIN)
	@for cmd in $$(scripts/commands); do \
		echo "build $(BIN)/$$(basename $$cmd)"; \
		CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/$$(basename $$cmd) ./$$cmd || exit 1; \
	done

.PHONY: run
run: build ## start the broker (127.0.0.1:9092, data in ./data) and the uppercase sample
	@CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/uppercase ./samples/uppercase
	@setsid $(BIN)/millstream broker --data-dir $(RUN_DATA) & broker=$$!; app=; \
	trap 'kill $$app 2>/dev/null; wait $$app; kill $$broker 2>/dev/null; wait' EXIT; trap 'exit 130' INT TERM HUP; \
	until $(BIN)/millstream topics list --timeout 1s >/dev/null 2>&1; do \
		kill -0 $$broker 2>/dev/null || exit 1; sleep 0.2; \
	done; \
	MILLSTREAM_CONFIG=samples/uppercase/millstream.yaml $(BIN)/uppercase & app=$$!; \
	until $(BIN)/millstream groups list --timeout 1s 2>/dev/null | grep -Eq '^uppercase +Stable'; do \
		kill -0 $$app 2>/dev/null || exit 1; sleep 0.2; \
	done; \
	printf '\n%s\n  %s\n  %s\n%s\n\n' \
		"The broker and the uppercase sample are running. In another terminal:" \
		"echo hello | $(BIN)/millstream produce words" \
		"$(BIN)/millstream consume upper-words --from-beginning" \
		"Ctrl-C stops both."; \
	wait $$broker

.PHONY: tools
tools: ## install the test tools (kcat, kafka-python, rabbitmq, mkdocs) when missing
	@scripts/test-tools

.PHONY: test
test: tools lint docs ## everything: lint, the docs build, every test (slow ones too)
	$(GO) run $(GOTESTSUM) --format pkgname-and-test-fails -- -count=1 -timeout 15m ./...
	$(GO) test -race -count=1 -timeout 5m ./sdk/stream ./sdk/cloudevent

.PHONY: test-short
test-short: ## fast unit tests only (go test -short)
	$(GO) test -short -count=1 ./...

.PHONY: lint
lint: ## gofmt, go vet, staticcheck and the import-direction rules
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) test -count=1 ./internal/layout/...

.PHONY: bench
bench: ## run the benchmarks once
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: bench-peers
bench-peers: ## produce throughput and latency vs NATS JetStream and kfake (BENCH_SECONDS=30)
	@scripts/bench-peers

.PHONY: fuzz
fuzz: ## a short run of every fuzz target (FUZZTIME=10s each)
	@scripts/fuzz-all $(FUZZTIME)

.PHONY: docs
docs: ## build the documentation site with mkdocs --strict
	@$(MAKE) --no-print-directory help | diff -u docs/snippets/make-help.txt - \
		|| { echo "docs/snippets/make-help.txt is stale: make help > docs/snippets/make-help.txt"; exit 1; }
	mkdocs build --strict --site-dir $(BIN)/site

.PHONY: images
images: ## Docker images FROM scratch, one per compose/*.Dockerfile
	@scripts/build-images

.PHONY: compose-up
compose-up: images ## build the images, start the dev stack, wait until healthy
	@compose/stack up

.PHONY: compose-down
compose-down: ## stop the dev stack (VOLUMES=1: delete its data too)
	@compose/stack down $(if $(VOLUMES),-v)

.PHONY: clean
clean: ## remove build output and the data of `make run`
	rm -rf $(BIN) $(RUN_DATA) site
