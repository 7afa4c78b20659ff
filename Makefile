# Switchboard — build, run, test, benchmark.
GO      ?= go
BIN     := bin/switchboard
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
CONFIG  ?= switchboard.example.yaml
# Test timeout for the whole suite; the suite itself takes a few minutes on 2 cores.
TEST_TIMEOUT ?= 12m

.PHONY: build run test lint bench bench-peers clean

build:
	$(GO) build -ldflags "-X switchboard/gateway.version=$(VERSION)" -o $(BIN) ./cmd/switchboard

run: build
	./$(BIN) serve -config $(CONFIG)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Both build their own binaries into a temp dir (see the scripts for the BENCH_* settings).
bench:
	bash bench/run.sh

bench-peers:
	bash bench/peers.sh

clean:
	rm -rf bin data
