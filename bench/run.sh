#!/bin/sh
# One-command benchmark: instructions per inference of every model in QEMU (see bench/results.md).
# Optional arguments pick models by key (digits kws ad sine ic vww); with none, all run and results.md is rewritten.
set -e
cd "$(dirname "$0")/.."
exec dotnet run --project bench/TinyML.Bench -c Release -- "$@"
