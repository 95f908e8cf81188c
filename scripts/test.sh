#!/usr/bin/env bash
# Runs the whole test suite (unit, numerics, firmware in QEMU, packed-SDK integration) and ends with a plain
# "N passed, N failed, N skipped" line. Exit code 0 only when tests ran and none failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# The firmware tests need the Arm toolchain and QEMU; installs only what is missing (a no-op when present).
bash scripts/install-prereqs.sh || exit 1

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
log=$(mktemp)
dotnet test --solution TinyML.Sdk.sln -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Microsoft.Testing.Platform's summary: "total: N", "failed: N", "succeeded: N", "skipped: N".
count() { grep -E "^\s*$1: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+" || echo 0; }
passed=$(count succeeded); failed=$(count failed); skipped=$(count skipped)
rm -f "$log"

if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "no tests ran (exit code $status)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited with $status" >&2
  exit "$status"
fi
[ "$failed" -eq 0 ]
