#!/usr/bin/env bash
# make bench: Switchboard's reproducible benchmark on this machine. It builds the gateway and
# the orchestrator (bench/scenario) into a temp dir, then measures in one run: the ceiling and
# the durable reference, durable accepts per dialect, end-to-end delivery, peak RSS, the same
# on JetStream, and the restart figure. See bench/README.md ("make bench") for what each
# figure means and the BENCH_* settings:
#   BENCH_RUNS=3 BENCH_DURATION=10s BENCH_E2E_DURATION=30s BENCH_DRAIN=30s
#   BENCH_JETSTREAM=1 (0: skip) BENCH_JETSTREAM_E2E_DURATION=15s
#   BENCH_CONNECTIONS=64 BENCH_DIALECTS=messageflow,multiwhats,wavy,flowbot,native
#   BENCH_E2E_DIALECT=native BENCH_RESTART_MESSAGES=1000000 BENCH_PROFILE= (1: pprof)
#   BENCH_OUT=bench/out BENCH_RESULTS=bench/RESULTS.md (- for none)
# Extra arguments go to the orchestrator (bench/scenario -h lists its flags).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -ldflags "-X switchboard/gateway.version=$(git describe --always --dirty 2>/dev/null || echo dev)" \
	-o "$bin/switchboard" ./cmd/switchboard
go build -o "$bin/scenario" ./bench/scenario
"$bin/scenario" -bin "$bin/switchboard" "$@"
