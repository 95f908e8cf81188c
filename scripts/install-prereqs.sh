#!/usr/bin/env bash
# Installs the toolchains TinyML.Sdk needs on Debian/Ubuntu: the Arm GNU toolchain with picolibc (nrf52840 firmware),
# the RISC-V GNU toolchain with picolibc (the ESP32-C3's core bare metal, esp32c3-qemu), the Xtensa lx106 toolchain the
# kernels are verified with (lx106-qemu), QEMU for all three (to run firmware without a board), cmake (checks of the
# generated ESP-IDF project) and the host gcc (the `host` board and tests).
# ESP-IDF itself is not a Debian package and is not installed: see README.md, "ESP32 family".
# Installs only what is missing, so a rerun is fast. Needs root (or sudo) when something is missing.
set -euo pipefail

packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm gcc libc6-dev
  # ESP32-C3 core bare metal (esp32c3-qemu) and the ESP-IDF project checks.
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf cmake
  # Xtensa verification (lx106-qemu): compiler, C library, gcc's libgcc sources for the helpers Debian leaves out, QEMU.
  gcc-xtensa-lx106 binutils-xtensa-lx106 picolibc-xtensa-lx106-elf gcc-12-source qemu-system-misc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "prerequisites: all present (${packages[*]})"
  exit 0
fi

echo "prerequisites: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
