#!/usr/bin/env python3
"""Summarizes bench/fleet.sh's runs: report.py OUT_DIR

Reads OUT_DIR/runs.tsv (one line per run) and writes OUT_DIR/summary.txt (printed too), OUT_DIR/summary.md
(the tables for BENCHMARKS.md) and OUT_DIR/fleet.svg (median wall time vs N, one line per contender and
variant). Python 3 standard library only.
"""

import csv
import os
import statistics
import sys

CONTENDERS = ["obplay", "ansible", "pssh"]
LABEL = {"obplay": "obplay", "ansible": "Ansible", "pssh": "pssh (floor)"}
COLOR = {"obplay": "#1f6fd1", "ansible": "#d62728", "pssh": "#6b6b6b"}
VARIANT = {"1": "one step (stop)", "3": "three steps (stop, cleanup, shell)"}
GOAL_SIZES = (100, 200)
RSS_GOAL_MB = 300


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def summarize(rows):
    """{(variant, n, contender): stats}"""
    groups = {}
    for r in rows:
        groups.setdefault((r["variant"], int(r["n"]), r["contender"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r["exit"] == "0" and r["failed_hosts"] == "0"]
        walls = [num(r["wall_s"]) for r in rs]
        cpus = [num(r["cpu_s"]) for r in rs]
        rss = [num(r["max_rss_kb"]) / 1024 for r in rs if num(r["max_rss_kb"])]
        tree = [num(r["tree_rss_kb"]) / 1024 for r in rs if num(r["tree_rss_kb"])]
        out[key] = {
            "runs": len(rs),
            "failed": len(rs) - len(ok),
            "failed_hosts": sum(int(r["failed_hosts"] or 0) for r in rs),
            "wall": statistics.median(walls),
            "wall_min": min(walls),
            "wall_max": max(walls),
            "cpu": statistics.median(cpus),
            "rss": max(rss) if rss else None,
            "tree": max(tree) if tree else None,
            "cpu_source": rs[0]["cpu_source"],
            "load": statistics.median(num(r["load1"]) or 0 for r in rs),
        }
    return out


def fmt(x, d=1):
    return "-" if x is None else ("%.*f" % (d, x))


def ratio(a, b):
    return None if not a or not b else a / b


def tables(stats, markdown):
    lines = []
    variants = sorted({k[0] for k in stats})
    sizes = sorted({k[1] for k in stats})
    present = [c for c in CONTENDERS if any(k[2] == c for k in stats)]
    for v in variants:
        title = "%s-step: %s" % (v, VARIANT.get(v, v))
        if markdown:
            lines += ["#### " + title, "",
                      "| N | contender | median wall (s) | min–max (s) | CPU (s, median) | peak RSS, largest process (MB) "
                      "| peak RSS, whole tree (MB) | runs failed | obplay ÷ this |",
                      "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        else:
            lines += [title,
                      "%5s  %-13s %9s %13s %8s %9s %10s %7s %9s" % (
                          "N", "contender", "wall_s", "min-max", "cpu_s", "rss_MB", "tree_MB", "failed",
                          "obplay/x")]
        for n in sizes:
            ob = stats.get((v, n, "obplay"))
            for c in present:
                s = stats.get((v, n, c))
                if s is None:
                    continue
                r = "" if c == "obplay" or ob is None else fmt(ratio(ob["wall"], s["wall"]), 2)
                failed = "%d/%d" % (s["failed"], s["runs"])
                if markdown:
                    lines.append("| %d | %s | %s | %s–%s | %s | %s | %s | %s | %s |" % (
                        n, LABEL[c], fmt(s["wall"], 2), fmt(s["wall_min"], 2), fmt(s["wall_max"], 2),
                        fmt(s["cpu"], 1), fmt(s["rss"], 0), fmt(s["tree"], 0), failed, r))
                else:
                    lines.append("%5d  %-13s %9s %13s %8s %9s %10s %7s %9s" % (
                        n, LABEL[c], fmt(s["wall"], 2), fmt(s["wall_min"], 1) + "-" + fmt(s["wall_max"], 1),
                        fmt(s["cpu"], 1), fmt(s["rss"], 0), fmt(s["tree"], 0), failed, r))
        lines.append("")
    return lines


def goals(stats):
    lines = ["Goals (issue 5), from the medians:"]
    sizes = sorted({k[1] for k in stats})
    for n in sizes:
        if n not in GOAL_SIZES:
            continue
        one_ob, one_fl = stats.get(("1", n, "obplay")), stats.get(("1", n, "pssh"))
        if one_ob and one_fl:
            r = ratio(one_ob["wall"], one_fl["wall"])
            lines.append("  N=%d one step: obplay %.2fs vs pssh %.2fs = %.2fx the floor (goal <= 1.00): %s" % (
                n, one_ob["wall"], one_fl["wall"], r, "met" if r <= 1.0 else "NOT met"))
        three_ob, three_fl = stats.get(("3", n, "obplay")), stats.get(("3", n, "pssh"))
        if three_ob and three_fl:
            r = ratio(three_ob["wall"], three_fl["wall"])
            lines.append("  N=%d three steps: obplay %.2fs vs three pssh calls %.2fs = %.2fx (goal < 0.50): %s" % (
                n, three_ob["wall"], three_fl["wall"], r, "met" if r < 0.5 else "NOT met"))
    rss = [s["rss"] for k, s in stats.items() if k[2] == "obplay" and s["rss"]]
    if rss:
        lines.append("  obplay controller peak RSS: at most %.0f MB (goal < %d MB): %s" % (
            max(rss), RSS_GOAL_MB, "met" if max(rss) < RSS_GOAL_MB else "NOT met"))
    return lines


def nice_max(v):
    """An axis maximum and tick step for values up to v."""
    for step in (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000):
        if v / step <= 6:
            return step * (int(v / step) + 1), step
    return v * 1.1, v / 5


def svg(stats, path):
    """Two panels (one step, three steps), median wall time vs N, one line per contender."""
    variants = [v for v in ("1", "3") if any(k[0] == v for k in stats)]
    sizes = sorted({k[1] for k in stats})
    pw, ph = 300, 270
    left, gap, top, bottom, legend_w = 58, 100, 58, 54, 150
    W = left + len(variants) * pw + (len(variants) - 1) * gap + 60 + legend_w
    H = top + ph + bottom
    xmax = max(sizes) if sizes else 1
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="Helvetica, Arial, sans-serif" font-size="12">' % (W, H, W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" font-size="15" font-weight="bold">Stopping N observers on N SSH hosts: '
         'median wall time (lower is better)</text>' % left]
    for pi, v in enumerate(variants):
        x0 = left + pi * (pw + gap)
        vals = [s["wall"] for k, s in stats.items() if k[0] == v]
        ymax, tick = nice_max(max(vals) if vals else 1)

        def X(n):
            return x0 + pw * n / xmax

        def Y(w):
            return top + ph - ph * w / ymax

        o.append('<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>' % (
            x0, top - 14, "1 step: stop" if v == "1" else "3 steps: stop, cleanup, shell"))
        t = 0.0
        while t <= ymax + 1e-9:
            o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e6e6e6"/>' % (x0, Y(t), x0 + pw, Y(t)))
            o.append('<text x="%d" y="%.1f" text-anchor="end" fill="#444">%g</text>' % (x0 - 6, Y(t) + 4, t))
            t += tick
        for n in sizes:
            o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e6e6e6"/>' % (X(n), top, X(n), top + ph))
            o.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%d</text>' % (X(n), top + ph + 17, n))
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>' % (x0, top + ph, x0 + pw, top + ph))
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>' % (x0, top, x0, top + ph))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">N (hosts)</text>' % (x0 + pw / 2, top + ph + 38))
        o.append('<text transform="translate(%d,%.1f) rotate(-90)" text-anchor="middle">seconds</text>' % (
            x0 - 40, top + ph / 2))
        labels = []
        for c in CONTENDERS:
            pts = [(n, stats[(v, n, c)]["wall"]) for n in sizes if (v, n, c) in stats]
            if not pts:
                continue
            o.append('<polyline fill="none" stroke="%s" stroke-width="2.2" points="%s"/>' % (
                COLOR[c], " ".join("%.1f,%.1f" % (X(n), Y(w)) for n, w in pts)))
            for n, w in pts:
                o.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>' % (X(n), Y(w), COLOR[c]))
            labels.append([Y(pts[-1][1]) + 4, pts[-1][1], c])
        # the last values, right of the panel, pushed apart so that they never overlap
        labels.sort()
        for i in range(1, len(labels)):
            labels[i][0] = max(labels[i][0], labels[i - 1][0] + 13)
        for y, w, c in labels:
            o.append('<text x="%.1f" y="%.1f" font-size="11" fill="%s">%.1f s</text>' % (x0 + pw + 8, y, COLOR[c], w))
    lx = left + len(variants) * pw + (len(variants) - 1) * gap + 60
    ly = top + 10
    for c in CONTENDERS:
        if not any(k[2] == c for k in stats):
            continue
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.2"/>' % (
            lx, ly, lx + 24, ly, COLOR[c]))
        o.append('<circle cx="%d" cy="%d" r="3.5" fill="%s"/>' % (lx + 12, ly, COLOR[c]))
        o.append('<text x="%d" y="%d">%s</text>' % (lx + 30, ly + 4, LABEL[c]))
        ly += 20
    o.append('<text x="%d" y="%d" fill="#555" font-size="11">medians of %s runs</text>' % (
        lx, ly + 10, "/".join(sorted({str(s["runs"]) for s in stats.values()}))))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: report.py OUT_DIR\n")
        return 2
    out = sys.argv[1]
    rows = load(os.path.join(out, "runs.tsv"))
    if not rows:
        sys.stderr.write("report.py: no runs in %s/runs.tsv\n" % out)
        return 1
    stats = summarize(rows)
    machine = ""
    mpath = os.path.join(out, "machine.txt")
    if os.path.exists(mpath):
        with open(mpath) as f:
            machine = f.read()
    text = [machine.rstrip(), ""] if machine else []
    text += tables(stats, False) + goals(stats)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write("\n".join(text) + "\n")
    md = tables(stats, True) + ["```"] + goals(stats) + ["```"]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    svg(stats, os.path.join(out, "fleet.svg"))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
