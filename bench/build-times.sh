#!/usr/bin/env bash
# Build times (wall clock), measured the way a user meets them; prints a table, asserts nothing:
#   1. cold build of an nrf52840 KWS project (MLPerf Tiny DS-CNN from ../shared, CalibrationData = the 1,000 samples
#      of test_data/inputs.npy), with the SDK packed from this checkout: `rm -rf bin obj; dotnet build`;
#   2. no-op rebuild of the same project (`dotnet build` again, nothing changed);
#   3. `tinymlc compile` of two 10,000-node chains (Gemm/Relu pairs, and Add/Relu/Mul/Sigmoid element-wise ops; the
#      models the scaling tests compile, written by bench/TinyML.Bench --chain-model).
# Each figure is the median of RUNS runs (default 3), wall clock and CPU (user + system, children included).
# Usage: bench/build-times.sh [runs]. TINYML_BUILD_TIMES_SDK=<another checkout> packs and measures that one instead
# (the same project and chain models, made by this checkout), for before/after comparisons.
# Work folder: artifacts/build-times (override with TINYML_BUILD_TIMES_DIR). Needs ../shared (or $TINYML_SHARED_DIR),
# the Arm toolchain and the .NET SDK. The machine's load is printed with the figures: they are only comparable on
# the same machine under the same load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-3}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

shared=${TINYML_SHARED_DIR:-}
if [ -z "$shared" ]; then
  dir=$root
  while [ "$dir" != "/" ]; do
    if [ -d "$dir/../shared/models" ]; then shared=$(cd "$dir/../shared" && pwd); break; fi
    dir=$(dirname "$dir")
  done
fi
kws_dir=${shared:+$shared/models/mlperf_tiny_kws_dscnn}
if [ -z "$shared" ] || [ ! -f "$kws_dir/model.onnx" ]; then
  echo "SKIPPED: ../shared/models/mlperf_tiny_kws_dscnn not found (set TINYML_SHARED_DIR)" >&2
  exit 2
fi

out=${TINYML_BUILD_TIMES_DIR:-$root/artifacts/build-times}
rm -rf "$out"
mkdir -p "$out"

# "wall cpu" seconds of a command (cpu = user + system of it and its children: gcc, tinymlc, MSBuild nodes), its
# output to a log; fails the script when the command fails. On a busy machine the CPU figure is the steadier one.
seconds() {
  local log=$1; shift
  if ! /usr/bin/time -f "%e %U %S" -o "$log.time" "$@" >"$log" 2>&1; then
    echo "FAILED: $* (log: $log)" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  awk '{ printf "%.2f %.2f", $1, $2 + $3 }' "$log.time"
}

# Median of "wall cpu" pairs, per column.
median() {
  local wall cpu
  wall=$(printf '%s\n' "$@" | awk '{ print $1 }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  cpu=$(printf '%s\n' "$@" | awk '{ print $2 }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  echo "$wall | $cpu"
}

sdk=$(cd "${TINYML_BUILD_TIMES_SDK:-$root}" && pwd)
echo "== packing the SDK of $sdk into $out/packages"
dotnet pack "$sdk/TinyML.Sdk.sln" -c Release -o "$out/packages" -nologo -v:q >"$out/pack.log" 2>&1 || { tail -n 30 "$out/pack.log"; exit 1; }
version=$(ls "$out"/packages/TinyML.Sdk.*.nupkg | sed -E 's/.*TinyML\.Sdk\.(.*)\.nupkg/\1/')
# NuGet caches a package by id and version: a private cache keeps every run on the SDK just packed.
export NUGET_PACKAGES="$out/.nuget"

echo "== KWS project (nrf52840, 1,000 calibration samples) in $out/kws"
project=$out/kws
mkdir -p "$project/calib"
cp "$kws_dir/model.onnx" "$project/kws.onnx"
cp "$kws_dir/test_data/inputs.npy" "$project/calib/inputs.npy"
cat >"$project/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$out/packages" />
  </packageSources>
</configuration>
CONFIG
cat >"$project/Kws.csproj" <<PROJECT
<Project Sdk="TinyML.Sdk/$version">
  <PropertyGroup>
    <TinyMLBoard>nrf52840</TinyMLBoard>
  </PropertyGroup>
  <ItemGroup>
    <TinyModel Include="kws.onnx" CalibrationData="calib/" />
  </ItemGroup>
</Project>
PROJECT
cat >"$project/main.c" <<'MAIN'
#include <stdint.h>
#include <stdio.h>

#include "kws.h"
#include "tml_board.h"

int main(void)
{
    static int8_t input[TML_KWS_INPUT_SIZE];
    static int8_t output[TML_KWS_OUTPUT_SIZE];
    int k;

    tml_board_init();
    if (tml_kws_invoke(input, output) != 0) {
        return 1;
    }
    for (k = 0; k < TML_KWS_OUTPUT_SIZE; k++) {
        printf(k == 0 ? "%d" : ",%d", (int)output[k]);
    }
    printf("\n");
    return 0;
}
MAIN

cd "$project"
# Package extraction into the private cache happens once, like on a user's machine after the first build.
seconds "$out/restore.log" dotnet restore >/dev/null
cold=()
noop=()
for run in $(seq 1 "$runs"); do
  rm -rf bin obj
  cold+=("$(seconds "$out/cold-$run.log" dotnet build -nologo)")
  noop+=("$(seconds "$out/noop-$run.log" dotnet build -nologo)")
  echo "   run $run: cold ${cold[-1]} s, no-op ${noop[-1]} s (wall cpu)"
done
grep -h "^ *tinyml:\|Kws\.elf" "$out/cold-1.log" | sed 's/^ */   /' || true
cd "$root"

echo "== 10,000-node chains through tinymlc compile"
tinymlc="$NUGET_PACKAGES/tinyml.sdk/$version/tools/net10.0/any/TinyML.Tasks.dll"
dotnet build bench/TinyML.Bench -c Release -nologo -v:q >"$out/bench-build.log" 2>&1 || { tail -n 30 "$out/bench-build.log"; exit 1; }
declare -A chain
for kind in gemm elementwise; do
  dotnet run --project bench/TinyML.Bench -c Release --no-build -- --chain-model "$kind" 10000 "$out/chain_$kind.onnx" >/dev/null
  times=()
  for run in $(seq 1 "$runs"); do
    rm -rf "$out/chain_$kind"
    times+=("$(seconds "$out/chain-$kind-$run.log" dotnet exec "$tinymlc" compile --model "$out/chain_$kind.onnx" --name chain_$kind --out "$out/chain_$kind")")
    echo "   $kind run $run: ${times[-1]} s (wall cpu)"
  done
  chain[$kind]=$(median "${times[@]}")
  grep -h "tinyml:" "$out/chain-$kind-1.log" | sed 's/^ */   /' | cut -c1-220 || true
done

echo
echo "build times, median of $runs run(s) ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end):"
echo "| what | wall s | cpu s |"
echo "|---|---:|---:|"
echo "| KWS nrf52840, 1,000 calibration samples: cold build | $(median "${cold[@]}") |"
echo "| KWS nrf52840: no-op rebuild | $(median "${noop[@]}") |"
echo "| tinymlc compile, 10,000-node Gemm/Relu chain | ${chain[gemm]} |"
echo "| tinymlc compile, 10,000-node element-wise chain | ${chain[elementwise]} |"
