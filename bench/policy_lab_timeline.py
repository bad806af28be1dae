#!/usr/bin/env python3
"""policy_lab_timeline.py: the lab.autoscale timeline as a table and a PNG.

Usage: policy_lab_timeline.py CSV PNG [--decisions FILE] [--every SECONDS]

CSV is autoscale-timeline.csv from the lab scenario (tests/lab/scenarios/
autoscale.py, in <build>/tests/lab/lab.autoscale/): one row per second with
t_s, a_mib, a_target_mib, a_avail_mib, a_psi, b_mib, b_target_mib,
b_avail_mib, b_psi, free_mib (MiB and percent). FILE holds hotmemd's policy
decisions, "<seconds> d<id> (<name>): <what>", one per line. Prints a
summary and a markdown table sampled every SECONDS (default 10) for
docs/policy.md, then draws with gnuplot (pngcairo): each guest's memory and
target, autoa's MemAvailable and the host's free memory over time with the
decisions marked, and both guests' PSI below. Exit 0, 1 on bad input, 77 if
gnuplot is missing (the table is printed anyway).
"""
import argparse
import csv
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Decision kinds: (regex on the decision text, label, gnuplot point type).
KINDS = [
    (re.compile(r"\(autoa\): grow by .* started"), "autoa grow", 9),
    (re.compile(r"\(autoa\): target .*\((deflate|balloon)"), "autoa balloon", 11),
    (re.compile(r"\(autoa\): shrink by .* started"), "autoa blocks removed", 5),
    (re.compile(r"\(autob\): target .*\((deflate|balloon)"), "autob balloon", 13),
    (re.compile(r"\(autob\): grow by .* started"), "autob grow", 7),
    (re.compile(r"\((autoa|autob)\): (frozen|unfrozen)"), "freeze", 3),
]


def load_rows(path):
    with open(path, newline="") as f:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
    if not rows or "t_s" not in rows[0]:
        raise ValueError(f"{path}: no rows or no t_s column")
    return rows


def load_decisions(path):
    out = []
    if not path:
        return out
    for line in Path(path).read_text().splitlines():
        m = re.match(r"([\d.]+) (.*)", line)
        if m:
            out.append((float(m.group(1)), m.group(2)))
    return out


def nearest(rows, t):
    return min(rows, key=lambda r: abs(r["t_s"] - t))


def fmt(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.0f}"


def summary(rows, decisions):
    a_boot, b_boot = rows[0]["a_mib"], rows[0]["b_mib"]
    peak = max(rows, key=lambda r: r["a_mib"])
    b_low = min(rows, key=lambda r: r["b_target_mib"])
    grows = [t for t, d in decisions if re.search(r"\(autoa\): grow by .* started", d)]
    released = [t for t, d in decisions if re.search(r"\(autoa\): shrink by .* done", d)]
    print(f"autoa: {a_boot:.0f} MiB at boot, peak {peak['a_mib']:.0f} MiB at {peak['t_s']:.0f} s "
          f"({len(grows)} grows), {rows[-1]['a_mib']:.0f} MiB at the end "
          f"(last blocks back at {released[-1]:.0f} s)" if released else
          f"autoa: {a_boot:.0f} MiB at boot, peak {peak['a_mib']:.0f} MiB, {rows[-1]['a_mib']:.0f} at the end")
    print(f"autob: {b_boot:.0f} MiB at boot, target down to {b_low['b_target_mib']:.0f} MiB at "
          f"{b_low['t_s']:.0f} s ({b_boot - b_low['b_target_mib']:.0f} MiB reclaimed)")
    print(f"host free: {rows[0]['free_mib']:.0f} MiB at the start, lowest "
          f"{min(r['free_mib'] for r in rows):.0f} MiB, {rows[-1]['free_mib']:.0f} MiB at the end")


def table(rows, decisions, every):
    print("\n| t (s) | autoa MiB | autoa target | autoa MemAvailable | autoa PSI % | autob MiB | autob target "
          "| host free MiB | decisions since the row before |")
    print("|---|---|---|---|---|---|---|---|---|")
    last_t = -1e9
    prev = rows[0]["t_s"] - 1
    for i, r in enumerate(rows):
        if r["t_s"] - last_t < every and i != len(rows) - 1:
            continue
        since = [d for t, d in decisions if prev < t <= r["t_s"]]
        kinds = {}
        for d in since:
            for rx, label, _ in KINDS:
                if rx.search(d):
                    kinds[label] = kinds.get(label, 0) + 1
        what = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items()) or ""
        print(f"| {r['t_s']:.0f} | {fmt(r['a_mib'])} | {fmt(r['a_target_mib'])} | {fmt(r['a_avail_mib'])} | "
              f"{r['a_psi']:.2f} | {fmt(r['b_mib'])} | {fmt(r['b_target_mib'])} | {fmt(r['free_mib'])} | {what} |")
        last_t, prev = r["t_s"], r["t_s"]


def plot(rows, decisions, csv_path, png):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("gnuplot not found (apt-get install gnuplot-nox)", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        marks = []
        for i, (rx, label, pt) in enumerate(KINDS):
            path = Path(tmp) / f"marks{i}.dat"
            pts = []
            for t, d in decisions:
                if rx.search(d):
                    r = nearest(rows, t)
                    pts.append(f"{t:.1f},{r['b_mib'] if 'autob' in label else r['a_mib']:.0f}")
            if pts:
                path.write_text("\n".join(pts) + "\n")
                marks.append(f"'{path}' using 1:2 with points pt {pt} ps 1.6 lc rgb 'black' title '{label}'")
        src = f"'{csv_path}'"
        script = f"""
set terminal pngcairo size 1280,820 font ',10'
set output '{png}'
set datafile separator ','
set multiplot layout 2,1 title 'lab.autoscale: hotmemd on Xen 4.17 arm64 under QEMU (two domUs, host short for both peaks)'
set lmargin 10
set rmargin 28
set key outside right top
set grid
set ylabel 'MiB'
set origin 0,0.3
set size 1,0.66
set yrange [0:*]
plot {src} skip 1 using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'autoa memory (tot)', \\
     {src} skip 1 using 1:3 with lines dt 2 lw 1 lc rgb '#1f77b4' title 'autoa target', \\
     {src} skip 1 using 1:4 with lines lw 1 lc rgb '#9ecae1' title 'autoa MemAvailable', \\
     {src} skip 1 using 1:6 with lines lw 2 lc rgb '#d62728' title 'autob memory (tot)', \\
     {src} skip 1 using 1:7 with lines dt 2 lw 1 lc rgb '#d62728' title 'autob target', \\
     {src} skip 1 using 1:10 with lines lw 2 lc rgb '#2ca02c' title 'host free'{''.join(', ' + m for m in marks)}
set origin 0,0
set size 1,0.3
set ylabel 'PSI some avg10 %'
set xlabel 'seconds since hotmemd started sampling'
set yrange [0:*]
plot {src} skip 1 using 1:5 with lines lw 2 lc rgb '#1f77b4' title 'autoa PSI', \\
     {src} skip 1 using 1:9 with lines lw 2 lc rgb '#d62728' title 'autob PSI'
unset multiplot
"""
        res = subprocess.run([gnuplot], input=script, capture_output=True, text=True)
        if res.returncode != 0:
            print(f"gnuplot failed: {res.stderr.strip()}", file=sys.stderr)
            return 1
    print(f"\nwrote {png}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("csv")
    p.add_argument("png")
    p.add_argument("--decisions")
    p.add_argument("--every", type=float, default=10)
    args = p.parse_args()
    try:
        rows = load_rows(args.csv)
        decisions = load_decisions(args.decisions)
    except (OSError, ValueError, KeyError) as e:
        print(f"policy_lab_timeline.py: {e}", file=sys.stderr)
        return 1
    summary(rows, decisions)
    table(rows, decisions, args.every)
    return plot(rows, decisions, Path(args.csv).resolve(), Path(args.png).resolve())


if __name__ == "__main__":
    sys.exit(main())
