#!/usr/bin/env bash
# Runs every libFuzzer target over its seed corpus for SECONDS each (default 30).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# Builds Fuzz/Sources (GHL_FUZZ=1, -sanitize=fuzzer) in .build-fuzz; new inputs go to a temporary
# folder, the seeds in Fuzz/Corpus are only read. A finding (a crash or a broken property) is saved
# as .build-fuzz/findings/TARGET-crash-*, printed, and makes the script exit 1. The last line sums
# the executions of all targets.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-30}"
shift || true
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
    TARGETS=(canonical-target form-decoder json-target multipart media-type scope-table openapi-spec policy-file configuration webhook-verifier upstream-response)
fi

echo "building the fuzz targets (first build: several minutes)..."
mkdir -p .build-fuzz
if ! GHL_FUZZ=1 swift build --product ghl-fuzz --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -enable-testing \
    >.build-fuzz/build.log 2>&1; then
    echo "the fuzz targets did not build:" >&2
    grep -E "error:" .build-fuzz/build.log | sort -u | head -20 >&2
    exit 3
fi
BINARY=.build-fuzz/debug/ghl-fuzz
FINDINGS=.build-fuzz/findings
mkdir -p "$FINDINGS"

total=0
failed=()
for target in "${TARGETS[@]}"; do
    seeds="Fuzz/Corpus/$target"
    [ -d "$seeds" ] || { echo "no seed corpus $seeds" >&2; exit 2; }
    work=$(mktemp -d /tmp/ghl-fuzz-"$target".XXXXXX)
    log="$work/log"
    # Swift's own backtracer would end the process before libFuzzer saves the input.
    if SWIFT_BACKTRACE=enable=no GHL_FUZZ_TARGET="$target" GHL_FUZZ_ROOT="$PWD" "$BINARY" "$work" "$seeds" \
        -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$FINDINGS/$target-" >"$log" 2>&1; then
        status=ok
    else
        status=FINDING
        failed+=("$target")
        grep -E "Fatal error|ERROR: libFuzzer|SUMMARY" "$log" | head -5 || true
    fi
    runs=$(grep -E "^stat::number_of_executed_units:" "$log" | awk '{print $2}' | tail -1)
    runs=${runs:-0}
    total=$((total + runs))
    printf '%-20s %-8s %12s executions\n' "$target" "$status" "$runs"
    rm -rf "$work"
done
echo "total: $total executions in ${#TARGETS[@]} targets, ${SECONDS_EACH}s each"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "findings in: ${failed[*]} (inputs in $FINDINGS)" >&2
    exit 1
fi
