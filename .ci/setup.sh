#!/usr/bin/env bash
# CI bootstrap for obplay's tests on a (possibly brand-new) Debian 12 machine, run as root.
# Non-interactive and idempotent: a second run installs nothing and rebuilds nothing.
#   - packages: openssh-server (sshd for LoopbackFleet, ssh/ssh-keygen), docker.io, debootstrap,
#     mariadb-server (mariadbd for the MySQL-protocol store's tests: MariaDbServer starts its own, never the service),
#     chromium and chromium-driver (the DAG page's browser tests: headless, driven by Selenium through /usr/bin/chromedriver)
#     (python3 when missing: standin.py runs on the test machine too)
#   - /run/sshd, and the login user `obplay` (shell /bin/sh) that LoopbackFleet's sshds accept
#   - src/test/docker/build-images.sh: starts dockerd if needed, builds local/debian:bookworm and
#     local/obplay-host:latest, and the test key ~/.cache/obplay/test-keys/id_ed25519
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_START=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf 'setup: [%5ss] %s\n' "$(elapsed "$T_START")" "$*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root"

# --- packages ----------------------------------------------------------------------------------
PKGS="openssh-server docker.io debootstrap debian-archive-keyring shellcheck ansible-core pssh time mariadb-server chromium chromium-driver"
command -v python3 >/dev/null 2>&1 || PKGS="$PKGS python3"
MISSING=""
for p in $PKGS; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || MISSING="$MISSING $p"
done
if [ -n "$MISSING" ]; then
  # keep package scripts from starting services (ssh on :22, docker, mariadb): we start what we need
  POLICY=/usr/sbin/policy-rc.d
  OUR_POLICY=0
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    OUR_POLICY=1
    trap 'rm -f "$POLICY"' EXIT
  fi
  say "apt-get update"
  apt-get update -q </dev/null >/tmp/obplay-apt.log 2>&1 || { tail -n 20 /tmp/obplay-apt.log >&2; die "apt-get update failed"; }
  say "apt-get install$MISSING"
  apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      $MISSING </dev/null >>/tmp/obplay-apt.log 2>&1 \
    || { tail -n 30 /tmp/obplay-apt.log >&2; die "apt-get install failed (log: /tmp/obplay-apt.log)"; }
  if [ "$OUR_POLICY" = 1 ]; then
    rm -f "$POLICY"
    trap - EXIT
  fi
  say "packages installed"
else
  say "packages already installed:$(printf ' %s' $PKGS)"
fi

# --- sshd and the loopback login user ----------------------------------------------------------
mkdir -p /run/sshd
chmod 755 /run/sshd
if ! id obplay >/dev/null 2>&1; then
  useradd -m -s /bin/sh obplay
  say "created user obplay"
fi
# sshd with UsePAM no refuses accounts whose password is locked ("!"); "*" = no password, not locked
case "$(getent shadow obplay | cut -d: -f2)" in
  '!'*) usermod -p '*' obplay ;;
esac

# --- images and the test key -------------------------------------------------------------------
say "build-images.sh"
bash "$ROOT/src/test/docker/build-images.sh"
say "setup done in $(elapsed "$T_START") s"
