#!/usr/bin/env python3
"""Keeps docs/policy.md's benchmark tables the figures the code prints.

docs/policy.md section 4 cites rows of `policy_bench --all`; the tables it
cites sit between two markers, as policy_bench prints them (its "###"
headings one level deeper, "####", to sit under the page's own). Without
--update this runs policy_bench --all and fails, with a diff, if what it
prints is not what the page holds: a policy change that moves a figure
must bring the page along (the ctest doc.policy-tables). With --update it
writes the output into the page instead.

Usage: policy_doc.py --bench PATH [--doc docs/policy.md] [--update]
"""
import argparse
import difflib
import pathlib
import subprocess
import sys

BEGIN = "<!-- policy_bench --all: begin (bench/policy_doc.py --update writes what follows) -->"
END = "<!-- policy_bench --all: end -->"
REPO = pathlib.Path(__file__).resolve().parent.parent


def bench_tables(bench):
    """What `bench --all` prints, headings one level deeper."""
    out = subprocess.run([bench, "--all"], check=True, capture_output=True, text=True).stdout
    lines = [("#" + line) if line.startswith("### ") else line for line in out.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def split_doc(text, doc):
    """The page before the tables, the tables, and the page after them."""
    lines = text.splitlines()
    try:
        begin = lines.index(BEGIN)
        end = lines.index(END, begin)
    except ValueError:
        sys.exit(f"policy_doc.py: {doc} has no '{BEGIN}' ... '{END}' pair")
    inner = lines[begin + 1:end]
    # One blank line on each side of the tables, so the markers render as
    # nothing and the first heading is a heading.
    while inner and not inner[0]:
        inner.pop(0)
    while inner and not inner[-1]:
        inner.pop()
    return lines[:begin + 1], inner, lines[end:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, help="the policy_bench binary")
    ap.add_argument("--doc", default=str(REPO / "docs" / "policy.md"))
    ap.add_argument("--update", action="store_true", help="write the tables into the page")
    args = ap.parse_args()

    doc = pathlib.Path(args.doc)
    split_doc(doc.read_text(), doc)  # no markers: say so before 2 minutes of bench
    printed = bench_tables(args.bench)
    # Read again after the bench: the page may have been edited meanwhile.
    head, held, tail = split_doc(doc.read_text(), doc)
    if args.update:
        doc.write_text("\n".join(head + [""] + printed + [""] + tail) + "\n")
        print(f"policy_doc.py: {doc}: {len(printed)} lines of policy_bench --all written")
        return 0
    if held == printed:
        print(f"policy_doc.py: {doc}: the tables are what policy_bench --all prints "
              f"({len(printed)} lines)")
        return 0
    diff = list(difflib.unified_diff(held, printed, f"{doc} (the page)",
                                     "policy_bench --all (the code)", lineterm="", n=1))
    sys.stderr.write("\n".join(diff[:80]) + "\n")
    if len(diff) > 80:
        sys.stderr.write(f"... {len(diff) - 80} more diff lines\n")
    sys.stderr.write(
        f"policy_doc.py: {doc}'s tables are not what policy_bench --all prints now: "
        "rerun `python3 bench/policy_doc.py --bench <build>/bench/policy_bench --update` "
        "and check every figure the page cites from them\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
