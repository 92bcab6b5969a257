"""Summary statistics of one numeric column (CLI v2 sample with a single-file snapshot)."""

import argparse
import csv
import json
import os
import statistics
import sys
from pathlib import Path

# The spec sets these: their absence means environment_variables were not applied.
delimiter = os.environ.get("STATS_DELIMITER")
run_label = os.environ.get("STATS_RUN_LABEL")
if delimiter is None or run_label is None:
    sys.exit("STATS_DELIMITER and STATS_RUN_LABEL must be set (environment_variables)")
print(f"STATS_DELIMITER={delimiter!r} STATS_RUN_LABEL={run_label!r}")

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--column", required=True)
parser.add_argument("--min-value", type=float)
parser.add_argument("--population", choices=["True", "False"], required=True)
parser.add_argument("--decimals", type=int, required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

with open(args.data, newline="") as f:
    values = [float(row[args.column]) for row in csv.DictReader(f, delimiter=delimiter)]
if args.min_value is not None:
    values = [v for v in values if v >= args.min_value]
if len(values) < 2:
    sys.exit(f"need at least two values in column {args.column!r}, got {len(values)}")

spread = statistics.pstdev if args.population == "True" else statistics.stdev
stats = {
    "label": run_label,
    "column": args.column,
    "min_value": args.min_value,
    "population": args.population == "True",
    "count": len(values),
    "mean": round(statistics.fmean(values), args.decimals),
    "median": round(statistics.median(values), args.decimals),
    "stdev": round(spread(values), args.decimals),
    "min": min(values),
    "max": max(values),
}
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
(out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
print(json.dumps(stats))
