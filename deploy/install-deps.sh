#!/usr/bin/env bash
# Installs every Debian package dlpgate needs to build, test and benchmark.
# Idempotent: packages already present are left alone, and apt is only asked
# when something is missing. Run as root on Debian 12 (bookworm).
#
#   DLPGATE_HS=vectorscan deploy/install-deps.sh   # use Vectorscan instead of Hyperscan
set -euo pipefail

hs_pkg=libhyperscan-dev
if [[ "${DLPGATE_HS:-}" == "vectorscan" ]]; then
  hs_pkg=libvectorscan-dev
elif ! grep -qw sse4_2 /proc/cpuinfo 2>/dev/null || [[ "$(uname -m)" != "x86_64" ]]; then
  # Hyperscan needs x86-64 with SSSE3/SSE4.2; Vectorscan (same API) runs elsewhere.
  hs_pkg=libvectorscan-dev
fi
# If one of the two is already installed, keep it: they conflict with each other.
if dpkg-query -W -f='${Status}' libvectorscan-dev 2>/dev/null | grep -q 'ok installed'; then
  hs_pkg=libvectorscan-dev
fi

packages=(
  build-essential cmake pkg-config git ca-certificates
  "$hs_pkg"
  libpcap-dev
  libdpdk-dev
  libicu-dev
  libboost-program-options-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  zlib1g-dev
  libyaml-cpp-dev
  nlohmann-json3-dev
  libsqlite3-dev
  libssl-dev
  libpq-dev libpqxx-dev
  postgresql  # the PostgreSQL store tests start a private server (initdb, pg_ctl)
  libarchive-dev
  libbrotli-dev
  libpsl-dev publicsuffix
  clang libclang-rt-14-dev
  iproute2 curl
  ethtool iputils-ping python3  # the inline lab (deploy/lab.sh): offloads off, ping, upload sink
  freeradius-utils bsdutils  # the live identity tests send RADIUS (radclient) and syslog (logger)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "deploy: all ${#packages[@]} packages already installed"
  exit 0
fi

if [[ $EUID -ne 0 ]]; then
  echo "deploy: missing packages: ${missing[*]}" >&2
  echo "deploy: run this script as root (or with sudo) to install them" >&2
  exit 1
fi

echo "deploy: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
