#!/usr/bin/env python3
"""Write sim/presets/accuracy.yaml from bench_accuracy's output (docs/accuracy-rows.txt).

`trainsim predict` quotes, beside each prediction, how far the simulator missed the public runs of
the same GPU and precision (its "by GPU and precision" lines). Rerun after every bench_accuracy run
that is kept in docs/:

    build/bin/bench_accuracy > /tmp/rows.txt && python3 bench/accuracy_summary.py /tmp/rows.txt

Test PublicError.ShippedTableIsTheBenchOutputInDocs keeps the two in step.
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


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "docs/accuracy-rows.txt"
    target = sys.argv[2] if len(sys.argv) > 2 else "sim/presets/accuracy.yaml"
    with open(source) as f:
        found = list(groups(f))
    if not found:
        print(f"{source}: no 'by GPU and precision:' lines (bench_accuracy's output expected)", file=sys.stderr)
        return 2
    with open(target, "w") as out:
        out.write("# How far bench_accuracy's predictions missed the public runs (../shared/validation) of each GPU\n"
                  "# and precision: MAPE and mean signed error of the step time, in percent (negative: predicted\n"
                  "# faster than measured). `trainsim predict` quotes a prediction's group where it has 5 rows or\n"
                  "# more. Written by bench/accuracy_summary.py from docs/accuracy-rows.txt; do not edit.\n")
        for name, rows, mape, signed in found:
            out.write(f"{name}: {{rows: {rows}, mape_percent: {mape}, mean_signed_percent: {signed}}}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
