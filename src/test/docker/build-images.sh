#!/usr/bin/env bash
# Builds the Docker images obplay's tests use, with no image registry:
#   local/debian:bookworm      debootstrap --variant=minbase, imported with `docker import`
#   local/obplay-host:latest   src/test/docker/host/Dockerfile: sshd + standin.py, test key authorized
# and the test SSH key pair the tests log in with (see io.obplay.testing.TestHosts):
#   ${OBPLAY_CACHE:-$HOME/.cache/obplay}/test-keys/id_ed25519   (+ .pub)
#
# Idempotent: an image that exists and is up to date is kept (the host image carries a label with
# the hash of everything it is built from). Starts dockerd when the daemon does not answer.
#
# Settings (environment):
#   OBPLAY_CACHE        cache directory (default ~/.cache/obplay): test key, saved images
#   OBPLAY_BASE_IMAGE   base image (default local/debian:bookworm; any other name is pulled)
#   OBPLAY_HOST_IMAGE   host image name (default local/obplay-host:latest)
#   OBPLAY_MIRROR       Debian mirror for debootstrap (default: the one in /etc/apt/sources*)
#   OBPLAY_IMAGE_CACHE  base (default): save/load the debootstrapped base image as a .tar.gz in the
#                       cache; all: the host image too; none: never save or load
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE=${OBPLAY_CACHE:-$HOME/.cache/obplay}
KEY=$CACHE/test-keys/id_ed25519
BASE_IMAGE=${OBPLAY_BASE_IMAGE:-local/debian:bookworm}
HOST_IMAGE=${OBPLAY_HOST_IMAGE:-local/obplay-host:latest}
IMAGE_CACHE=${OBPLAY_IMAGE_CACHE:-base}
SUITE=bookworm
HASH_LABEL=io.obplay.content-hash
STANDIN=$ROOT/examples/standin/standin.py
DOCKERD_LOG=/tmp/obplay-dockerd.log
export DOCKER_BUILDKIT=0 # the legacy builder: works with Debian's docker.io 20.10 and newer clients

T_START=$(date +%s.%N)
die() { echo "build-images: ERROR: $*" >&2; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf 'build-images: [%5ss] %s\n' "$(elapsed "$T_START")" "$*"; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

command -v docker >/dev/null || die "no docker client on PATH (apt-get install docker.io, or run .ci/setup.sh)"
[ -f "$STANDIN" ] || die "missing $STANDIN"

# --- 1. the Docker daemon ----------------------------------------------------------------------
ensure_docker() {
  docker info >/dev/null 2>&1 && return 0
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    say "docker daemon not answering; systemctl start docker"
    systemctl start docker >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  fi
  command -v dockerd >/dev/null || die "the Docker daemon does not answer and dockerd is not installed (apt-get install docker.io, or run .ci/setup.sh)"
  [ "$(id -u)" = 0 ] || die "the Docker daemon does not answer and only root can start dockerd here"
  say "docker daemon not answering; starting dockerd (log: $DOCKERD_LOG)"
  nohup setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && { say "dockerd is up"; return 0; }
    sleep 0.5
  done
  tail -n 30 "$DOCKERD_LOG" >&2 || true
  die "dockerd did not answer within 60 s (see $DOCKERD_LOG)"
}
ensure_docker

# --- 2. the base image -------------------------------------------------------------------------
find_mirror() {
  if [ -n "${OBPLAY_MIRROR:-}" ]; then echo "$OBPLAY_MIRROR"; return; fi
  local f m
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    m=$(awk -v suite="$SUITE" '
      function flush() {
        if (!found && uri != "" && has_suite && has_deb && enabled) { print uri; found = 1 }
        uri = ""; has_suite = 0; has_deb = 0; enabled = 1
      }
      BEGIN { enabled = 1 }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "uris:"    { uri = $2 }
      tolower($1) == "suites:"  { for (i = 2; i <= NF; i++) if ($i == suite) has_suite = 1 }
      tolower($1) == "types:"   { for (i = 2; i <= NF; i++) if ($i == "deb") has_deb = 1 }
      tolower($1) == "enabled:" { if (tolower($2) == "no") enabled = 0 }
      END { flush() }' "$f")
    [ -n "$m" ] && { echo "$m"; return; }
  done
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    m=$(sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }')
    [ -n "$m" ] && { echo "$m"; return; }
  done
  echo "http://deb.debian.org/debian"
}

BASE_CACHE_FILE=$CACHE/images/$(echo "$BASE_IMAGE" | tr '/:' '__').tar.gz
if image_exists "$BASE_IMAGE"; then
  say "base image $BASE_IMAGE exists"
elif [ "$IMAGE_CACHE" != none ] && [ -s "$BASE_CACHE_FILE" ]; then
  say "loading $BASE_IMAGE from $BASE_CACHE_FILE"
  gzip -dc "$BASE_CACHE_FILE" | docker load >/dev/null || die "docker load of $BASE_CACHE_FILE failed (delete it to rebuild)"
  image_exists "$BASE_IMAGE" || die "$BASE_CACHE_FILE did not contain $BASE_IMAGE (delete it to rebuild)"
elif [ "$BASE_IMAGE" != "local/debian:$SUITE" ]; then
  say "pulling $BASE_IMAGE"
  docker pull "$BASE_IMAGE" || die "cannot pull $BASE_IMAGE"
else
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap, or run .ci/setup.sh)"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root to build $BASE_IMAGE"
  MIRROR=$(find_mirror)
  ROOTFS=$(mktemp -d /var/tmp/obplay-rootfs.XXXXXX)
  trap 'rm -rf "$ROOTFS"' EXIT
  say "debootstrap --variant=minbase $SUITE from $MIRROR (about 35 s)"
  if ! debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1; then
    tail -n 30 "$ROOTFS.log" >&2
    die "debootstrap failed (full log: $ROOTFS.log)"
  fi
  rm -f "$ROOTFS.log"
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/tmp/*
  say "docker import -> $BASE_IMAGE"
  tar -C "$ROOTFS" --numeric-owner -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null \
    || die "docker import failed"
  rm -rf "$ROOTFS"
  trap - EXIT
  say "imported $BASE_IMAGE"
  if [ "$IMAGE_CACHE" != none ]; then
    mkdir -p "$(dirname "$BASE_CACHE_FILE")"
    docker save "$BASE_IMAGE" | gzip -1 >"$BASE_CACHE_FILE.tmp" && mv "$BASE_CACHE_FILE.tmp" "$BASE_CACHE_FILE"
    say "saved $BASE_IMAGE to $BASE_CACHE_FILE ($(du -h "$BASE_CACHE_FILE" | cut -f1))"
  fi
fi

# --- 3. the test key pair ----------------------------------------------------------------------
mkdir -p "$(dirname "$KEY")"
chmod 700 "$(dirname "$KEY")"
if [ ! -f "$KEY" ]; then
  command -v ssh-keygen >/dev/null || die "ssh-keygen not found (apt-get install openssh-client)"
  ssh-keygen -q -t ed25519 -N '' -C obplay-test -f "$KEY" || die "ssh-keygen failed"
  say "created test key $KEY"
elif [ ! -f "$KEY.pub" ]; then
  ssh-keygen -y -f "$KEY" >"$KEY.pub" || die "cannot derive $KEY.pub"
fi
chmod 600 "$KEY"
chmod 644 "$KEY.pub"

# --- 4. the host image -------------------------------------------------------------------------
CTX=$(mktemp -d /tmp/obplay-host-ctx.XXXXXX)
trap 'rm -rf "$CTX"' EXIT
cp "$HERE/host/Dockerfile" "$HERE/host/obplay-host-init" "$STANDIN" "$CTX/"
cp "$KEY.pub" "$CTX/authorized_keys"
BASE_ID=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")
HASH=$( (cd "$CTX" && sha256sum Dockerfile obplay-host-init standin.py authorized_keys; echo "$BASE_IMAGE $BASE_ID") \
        | sha256sum | cut -c1-16)
HOST_CACHE_FILE=$CACHE/images/obplay-host-$HASH.tar.gz

current_hash() { docker image inspect -f "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$HOST_IMAGE" 2>/dev/null || true; }

if [ "$(current_hash)" = "$HASH" ]; then
  say "host image $HOST_IMAGE is up to date ($HASH_LABEL=$HASH)"
elif [ "$IMAGE_CACHE" = all ] && [ -s "$HOST_CACHE_FILE" ] \
     && gzip -dc "$HOST_CACHE_FILE" | docker load >/dev/null && [ "$(current_hash)" = "$HASH" ]; then
  say "loaded $HOST_IMAGE from $HOST_CACHE_FILE"
else
  say "building $HOST_IMAGE ($HASH_LABEL=$HASH)"
  if ! docker build -q --build-arg "BASE=$BASE_IMAGE" --label "$HASH_LABEL=$HASH" -t "$HOST_IMAGE" "$CTX" \
       >"$CTX.build.log" 2>&1; then
    tail -n 40 "$CTX.build.log" >&2
    die "docker build of $HOST_IMAGE failed (full log: $CTX.build.log)"
  fi
  rm -f "$CTX.build.log"
  [ "$(current_hash)" = "$HASH" ] || die "built $HOST_IMAGE but its $HASH_LABEL label is not $HASH"
  # drop the previous builds of this image (now untagged)
  docker image prune -f --filter "label=$HASH_LABEL" >/dev/null 2>&1 || true
  if [ "$IMAGE_CACHE" = all ]; then
    mkdir -p "$CACHE/images"
    rm -f "$CACHE"/images/obplay-host-*.tar.gz
    docker save "$HOST_IMAGE" | gzip -1 >"$HOST_CACHE_FILE.tmp" && mv "$HOST_CACHE_FILE.tmp" "$HOST_CACHE_FILE"
    say "saved $HOST_IMAGE to $HOST_CACHE_FILE"
  fi
fi

say "done: base=$BASE_IMAGE host=$HOST_IMAGE key=$KEY"
