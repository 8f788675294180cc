#!/usr/bin/env bash
# The randomized kill -9 campaign, long: KILLS kills per store (one gateway on SQLite, then three
# replicas on a private PostgreSQL), at seeded random and aimed moments, under proxied load
# (Tests/GatewayTestSupport/CrashCampaign.swift). Prints each store's figures; exits non-zero when
# anything was lost. Usage: scripts/crash.sh KILLS [SEED]
set -euo pipefail
kills="${1:?usage: scripts/crash.sh KILLS [SEED]}"
seed="${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
cd "$(dirname "$0")/.."
swift build --build-tests >/dev/null
echo "seed $seed, $kills kills per store"
set +e
GHL_CRASH_KILLS="$kills" GHL_CRASH_SEED="$seed" swift test --skip-build --filter CrashCampaignTests 2>&1 \
    | grep -E "^crash campaign|✘|recorded an issue|Test run"
status=${PIPESTATUS[0]}
exit "$status"
