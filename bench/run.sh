#!/bin/sh
# One-command benchmark on the machinery of `dotnet build -t:Bench` (see bench/README.md):
#   bench/run.sh                   MLPerf Tiny int8 models (TFLite's) on every board with an emulator -> results.md/.json
#   bench/run.sh --board rp2040    every model on one board -> results-rp2040.md/.json
#   bench/run.sh [--board B] kws   a subset of models by key, printed only
set -e
cd "$(dirname "$0")/.."
exec dotnet run --project bench/TinyML.Bench -c Release -- "$@"
