# Tangerine. Go 1.27 is required by PocketBase v0.40; this machine's Go may be older and
# ignores go.mod's toolchain line, so pin it here for every target.
export GOTOOLCHAIN := go1.27.3
export GOFLAGS ?= -buildvcs=false

GO ?= go
PKGS := ./...

.PHONY: run dev build test test-integration bench eval lint fmt

## run: build and serve Tangerine on 127.0.0.1:8090 with embedded defaults (data in ./pb_data)
run: build
	./bin/tangerine serve --http=127.0.0.1:8090 --dir=pb_data

## dev: like run, through `go run`: PocketBase's dev mode (SQL logged, automigrate on)
dev:
	$(GO) run . serve --http=127.0.0.1:8090 --dir=pb_data

## build: a static binary in ./bin/tangerine
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tangerine .

## test: the unit suite; needs no external service
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)

## test-integration: installs and starts real Pulsar, Milvus and S3 (scripts/), then runs the
## integration-tagged tests against them
test-integration:
	bash scripts/integration.sh

## bench: the benchmark programs under bench/ (results: docs/BENCHMARKS.md)
bench:
	bash bench/run.sh

## eval: recommendation quality on the labelled corpus (bench/eval, docs/BENCHMARKS.md): the
## hashing embedder; with EMBEDDER=http also all-MiniLM-L6-v2 served by scripts/embedder.sh
## (started before and stopped after the run, also when it fails). Not part of test or CI.
eval:
	$(GO) run ./bench/eval
ifeq ($(EMBEDDER),http)
	set -e; trap 'bash scripts/embedder.sh stop' EXIT; trap 'exit 130' INT TERM; \
	bash scripts/embedder.sh start; \
	$(GO) run ./bench/eval -embedder http -url http://$${EMBEDDER_ADDR:-127.0.0.1:8081}/v1/embeddings \
		-model all-MiniLM-L6-v2 -dim 384
endif

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')
