#!/usr/bin/env python3
"""Write sim/presets/accuracy.yaml from bench_accuracy's outputs kept in docs/.

`trainsim predict` quotes, under each step time, how far the simulator missed the public runs of
the same GPU and precision: bench_accuracy's "by GPU and precision" lines, for the rows with their
framework's fields stated (docs/accuracy-rows.txt), with their framework named
(docs/accuracy-rows-named.txt, `--framework-named`) and with those fields left at their defaults
(docs/accuracy-rows-defaults.txt, `--framework-defaults`). Rerun after every bench_accuracy run
kept in docs/, all three on one build:

    build/bin/bench_accuracy > docs/accuracy-rows.txt 2>&1      (then drop its closing "done" line)
    build/bin/bench_accuracy --framework-named > docs/accuracy-rows-named.txt 2>&1
    build/bin/bench_accuracy --framework-defaults > docs/accuracy-rows-defaults.txt 2>&1
    python3 bench/accuracy_summary.py

Test PublicError.ShippedTableIsTheBenchOutputInDocs keeps the table and the three files in step.
"""

import re
import sys

GROUP = re.compile(r"^  (\S+ \S+)\s+(\d+) rows\s+MAPE\s+([-\d.]+)%\s+mean signed error\s+([-+\d.]+)%$")


def groups(lines):
    inside = False
    for line in lines:
        if line.startswith("by GPU and precision:"):
            inside = True
            continue
        if inside:
            m = GROUP.match(line.rstrip("\n"))
            if not m:
                return
            yield m.group(1), int(m.group(2)), float(m.group(3)), float(m.group(4))


BASES = (("stated", "docs/accuracy-rows.txt"), ("named", "docs/accuracy-rows-named.txt"),
         ("defaults", "docs/accuracy-rows-defaults.txt"))


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "sim/presets/accuracy.yaml"
    figures = {}
    for basis, path in BASES:
        with open(path) as f:
            figures[basis] = {name: (rows, mape, signed) for name, rows, mape, signed in groups(f)}
        if not figures[basis]:
            print(f"{path}: no 'by GPU and precision:' lines (bench_accuracy's output expected)", file=sys.stderr)
            return 2
    stated = figures["stated"]
    for basis, path in BASES[1:]:
        other = figures[basis]
        if sorted(other) != sorted(stated) or any(other[g][0] != stated[g][0] for g in stated):
            print(f"{path}: other groups or row counts than docs/accuracy-rows.txt: rerun all three on one build",
                  file=sys.stderr)
            return 2
    with open(target, "w") as out:
        out.write("# How far bench_accuracy's predictions missed the public runs (../shared/validation) of each GPU\n"
                  "# and precision: MAPE and mean signed error of the step time, in percent (negative: predicted\n"
                  "# faster than measured), with the rows' framework fields stated, the framework named\n"
                  "# (plan.framework) and the fields left at their defaults. `trainsim predict` quotes a\n"
                  "# prediction's group where it has 5 rows or more. Written by bench/accuracy_summary.py from\n"
                  "# docs/accuracy-rows{,-named,-defaults}.txt; do not edit.\n")
        for name in stated:
            parts = [f"rows: {stated[name][0]}"]
            for basis, _ in BASES:
                _, mape, signed = figures[basis][name]
                parts.append(f"{basis}: {{mape_percent: {mape}, mean_signed_percent: {signed}}}")
            out.write(f"{name}: {{{', '.join(parts)}}}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
