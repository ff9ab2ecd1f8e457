#!/bin/sh
# Usage: bench/gen-inventory.sh SERVERS [ZONES] > inventory.yaml
# Writes an inventory of SERVERS observers spread over ZONES zones (default 3), on hosts 10.x.y.z.
set -eu
n=${1:?usage: gen-inventory.sh SERVERS [ZONES]}
zones=${2:-3}
awk -v n="$n" -v zones="$zones" 'BEGIN {
  print "cluster: bench"
  print "ssh: { user: admin, key: ~/.ssh/id_ed25519 }"
  print "observer: { home_path: /home/admin/oceanbase }"
  print "zones:"
  per = int((n + zones - 1) / zones)
  s = 0
  for (z = 1; z <= zones && s < n; z++) {
    printf "  zone%d:\n    servers:\n", z
    for (i = 0; i < per && s < n; i++) {
      printf "      - host: 10.%d.%d.%d\n", int(s / 65536) % 256, int(s / 256) % 256, s % 256
      s++
    }
  }
}'
