#!/usr/bin/env bash
# Installs the Debian packages gmr needs, when missing (Debian 12, as root or with sudo).
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config git
  libboost-stacktrace-dev libboost-program-options-dev
  libunwind-dev nlohmann-json3-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev gdb procps
  libssl-dev zlib1g-dev libbrotli-dev
  libboost-fiber-dev libboost-context-dev libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "gmr: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# libunwind-dev replaces LLVM's libunwind-14-dev if that is installed; clang keeps working.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
