# Switchboard — build, run, test, benchmark.
GO      ?= go
BIN     := bin/switchboard
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
# A static binary (no libc), its version set at link time: this machine builds with
# -buildvcs=false, so the build info alone would not carry the commit.
LDFLAGS := -s -w -X switchboard/gateway.version=$(VERSION)
# Targets of make release.
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64
# The container engine of make image.
ENGINE ?= $(shell command -v podman || command -v docker)
CONFIG  ?= switchboard.example.yaml
# Test timeout for the whole suite; the suite itself takes a few minutes on 2 cores.
TEST_TIMEOUT ?= 12m

.PHONY: build run test lint bench bench-peers clean release image

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/switchboard

# dist/switchboard-VERSION-OS-ARCH.tar.gz for each platform (the binary, the README, the
# example config, the systemd unit) and dist/SHA256SUMS (check with sha256sum -c).
release:
	rm -rf dist && mkdir -p dist
	set -e; for p in $(RELEASE_PLATFORMS); do \
	  name=switchboard-$(VERSION)-$${p%/*}-$${p#*/}; mkdir -p dist/$$name; \
	  CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
	    -o dist/$$name/switchboard ./cmd/switchboard; \
	  cp README.md switchboard.example.yaml deploy/switchboard.service dist/$$name/; \
	  tar -C dist -czf dist/$$name.tar.gz $$name; rm -r dist/$$name; \
	done
	cd dist && sha256sum *.tar.gz > SHA256SUMS

image:
	$(ENGINE) build --build-arg VERSION=$(VERSION) -t switchboard:$(VERSION) .

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
	rm -rf bin data dist
