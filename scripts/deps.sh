#!/usr/bin/env bash
# deps.sh — installs the Debian 12 packages ecgnet needs, only those missing (sourced by setup/test).
set -euo pipefail

ECGNET_PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libfftw3-dev libedf-dev libopenblas-dev liblapacke-dev libcjson-dev
  libsqlite3-dev libsodium-dev zlib1g-dev libwebsockets-dev libssl-dev openssl
  libpq-dev postgresql libcairo2-dev libpango1.0-dev fonts-noto-cjk
)

ecgnet_install_deps() {
  local missing=()
  for p in "${ECGNET_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
