#!/usr/bin/env bash
# make bench-peers: Kannel (bearerbox + smsbox, durable store file, an HTTP SMSC) and
# Switchboard under the same wrk load on loopback: accepts and end-to-end delivery, and the
# ratios. The Kannel config template and wrk scripts are in bench/peers/. It installs
# nothing: without Kannel or wrk it says how to get them and exits 0. The BENCH_* settings
# of bench/run.sh apply (BENCH_RUNS, BENCH_DURATION, BENCH_E2E_DURATION, BENCH_DRAIN,
# BENCH_CONNECTIONS, BENCH_OUT, BENCH_RESULTS).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for b in bearerbox smsbox wrk; do
	command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
if ((${#missing[@]})); then
	echo "bench-peers: skipped, not installed: ${missing[*]}"
	echo "  Kannel (bearerbox, smsbox) and wrk are Debian/Ubuntu packages:"
	echo "    sudo apt-get install -y kannel wrk"
	echo "  The package's kannel service is not needed (the bench starts its own boxes); then run make bench-peers again."
	exit 0
fi

bin=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/switchboard" ./cmd/switchboard
go build -o "$bin/scenario" ./bench/scenario
"$bin/scenario" -peers -bin "$bin/switchboard" "$@"
