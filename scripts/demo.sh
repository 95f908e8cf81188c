#!/usr/bin/env bash
# The main job, from a fresh clone: pack the SDK and templates, create a project from the nRF52840 template,
# build the firmware, run it in QEMU and print its predictions with the RAM/flash/instruction report.
# Everything lands under artifacts/ (the demo project in artifacts/demo/Demo); rerunning starts clean.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1

bash scripts/install-prereqs.sh

echo "== packing TinyML.Sdk and TinyML.Templates into artifacts/packages"
rm -rf artifacts/packages
dotnet pack TinyML.Sdk.sln -c Release -o artifacts/packages -nologo -v:q
version=$(ls artifacts/packages/TinyML.Sdk.*.nupkg | sed -E 's/.*TinyML\.Sdk\.(.*)\.nupkg/\1/')

demo="$root/artifacts/demo"
rm -rf "$demo"
mkdir -p "$demo"
# NuGet caches a package by id and version: a private cache keeps every demo run on the SDK just packed.
export NUGET_PACKAGES="$demo/.nuget"
cat > "$demo/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$root/artifacts/packages" />
  </packageSources>
</configuration>
CONFIG

echo "== dotnet new install TinyML.Templates ($version) and dotnet new tinyml-nrf52840 -o Demo"
hive="$demo/.templates"
dotnet new install "artifacts/packages/TinyML.Templates.$version.nupkg" --debug:custom-hive "$hive" >/dev/null
dotnet new tinyml-nrf52840 -o "$demo/Demo" --debug:custom-hive "$hive"

cd "$demo/Demo"
echo "== dotnet build (firmware for the nRF52840)"
dotnet build -nologo -nr:false
echo "== dotnet build -t:Run (the firmware in qemu-system-arm, mps2-an386 Cortex-M4, -icount shift=0)"
dotnet build -t:Run -nologo -nr:false -v:m
echo "== size report: $demo/Demo/bin/Debug/nrf52840/Demo.size.txt"
cat bin/Debug/nrf52840/Demo.size.txt | head -12
