#!/usr/bin/env python3
"""The rolling-restart benchmark's sampler (bench/rolling-restart.sh).

  sampler.py SERVERS OUT [--interval 0.15] [--timeout 0.1]
  sampler.py --analyze SAMPLES --t0 T0 --t1 T1 [--zones zone1,zone2,zone3]

SERVERS: one line per observer, "ZONE ADDR PORT [PORT...]". Every INTERVAL seconds the sampler opens a TCP
connection to every port of every observer at once (non-blocking, at most TIMEOUT seconds to be accepted);
a server is down in that sample when any of its ports did not accept. Each sample is one line of OUT:
"EPOCH_SECONDS SAMPLE_SECONDS Z1=DOWN Z2=DOWN ... [ADDR,ADDR,...]" (down servers per zone). Runs until SIGTERM.

--analyze: from the samples taken between T0 and T1 (epoch seconds; the run's start and end): per zone the
first and last sample at which some server of the zone was down (its "down span"), the number of separate
down stretches, the most zones down in one sample, the samples taken and their mean spacing. Prints
key=value lines.
"""
import errno
import os
import selectors
import signal
import socket
import sys
import time


def load(path):
    servers = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) >= 3:
                servers.append((w[0], w[1], [int(p) for p in w[2:]]))
    return servers


def sample(servers, timeout):
    sel = selectors.DefaultSelector()
    down = set()
    pending = 0
    socks = []
    for idx, (_, addr, ports) in enumerate(servers):
        for p in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            socks.append(s)
            rc = s.connect_ex((addr, p))
            if rc == 0:
                continue
            if rc in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
                sel.register(s, selectors.EVENT_WRITE, idx)
                pending += 1
            else:
                down.add(idx)
    deadline = time.monotonic() + timeout
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            s = key.fileobj
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                down.add(key.data)
            sel.unregister(s)
            pending -= 1
    for key in list(sel.get_map().values()):  # not accepted in time: down
        down.add(key.data)
    sel.close()
    for s in socks:
        s.close()
    return down


def run(servers_path, out_path, interval, timeout):
    servers = load(servers_path)
    zones = sorted({z for z, _, _ in servers})
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with open(out_path, "w", buffering=1) as out:
        nxt = time.monotonic()
        while not stop:
            t = time.time()
            m = time.monotonic()
            down = sample(servers, timeout)
            took = time.monotonic() - m
            counts = {z: 0 for z in zones}
            for i in down:
                counts[servers[i][0]] += 1
            out.write("%.3f %.3f %s %s\n" % (t, took, " ".join("%s=%d" % (z, counts[z]) for z in zones),
                                             ",".join(sorted(servers[i][1] for i in down)) or "-"))
            nxt += interval
            wait = nxt - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                nxt = time.monotonic()


def analyze(path, t0, t1):
    rows = []
    with open(path) as f:
        for line in f:
            w = line.split()
            t = float(w[0])
            counts = {}
            for kv in w[2:]:
                if "=" in kv:
                    k, v = kv.split("=")
                    counts[k] = int(v)
            rows.append((t, float(w[1]), counts))
    zones = sorted(rows[0][2]) if rows else []
    inrun = [r for r in rows if t0 <= r[0] <= t1]
    before = [r for r in rows if r[0] < t0]
    after = [r for r in rows if r[0] > t1]
    res = {}
    res["samples"] = len(inrun)
    if len(inrun) > 1:
        res["mean_spacing_s"] = "%.3f" % ((inrun[-1][0] - inrun[0][0]) / (len(inrun) - 1))
        res["max_spacing_s"] = "%.3f" % max(b[0] - a[0] for a, b in zip(inrun, inrun[1:]))
    res["max_sample_s"] = "%.3f" % max((r[1] for r in inrun), default=0)
    res["down_before_run"] = sum(1 for r in before if any(r[2].values()))
    res["down_after_run"] = sum(1 for r in after if any(r[2].values()))
    res["max_zones_down_at_once"] = max((sum(1 for z in zones if r[2][z]) for r in inrun), default=0)
    res["max_servers_down_at_once"] = max((sum(r[2].values()) for r in inrun), default=0)
    longest = 0.0
    for z in zones:
        ts = [r[0] for r in inrun if r[2][z]]
        stretches = 0
        prev = False
        for r in inrun:
            cur = r[2][z] > 0
            if cur and not prev:
                stretches += 1
            prev = cur
        if ts:
            span = ts[-1] - ts[0]
            res["%s_down_first_s" % z] = "%.3f" % (ts[0] - t0)
            res["%s_down_last_s" % z] = "%.3f" % (ts[-1] - t0)
            res["%s_down_span_s" % z] = "%.3f" % span
            longest = max(longest, span)
        else:
            res["%s_down_span_s" % z] = "never-down"
        res["%s_down_stretches" % z] = stretches
        res["%s_max_servers_down" % z] = max((r[2][z] for r in inrun), default=0)
    res["longest_zone_down_s"] = "%.3f" % longest
    for k, v in res.items():
        print("%s=%s" % (k, v))


def main(argv):
    if argv[:1] == ["--analyze"]:
        a = dict(zip(argv[2::2], argv[3::2]))
        return analyze(argv[1], float(a["--t0"]), float(a["--t1"]))
    servers, out = argv[0], argv[1]
    a = dict(zip(argv[2::2], argv[3::2]))
    run(servers, out, float(a.get("--interval", "0.15")), float(a.get("--timeout", "0.1")))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
