"""Group a CSV file by one column, sum another and write one JSON file (CLI v2 sample)."""

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--table", required=True)
parser.add_argument("--group-by", required=True)
parser.add_argument("--value-column", required=True)
parser.add_argument("--top", type=int, required=True)
parser.add_argument("--title", required=True)
parser.add_argument("--summary", required=True)
args = parser.parse_args()

with open(args.table, newline="") as f:
    rows = list(csv.DictReader(f))
missing = {args.group_by, args.value_column} - set(rows[0] if rows else ())
if missing:
    sys.exit(f"{args.table}: no column(s) {sorted(missing)}")

totals: dict[str, float] = defaultdict(float)
counts: dict[str, int] = defaultdict(int)
for row in rows:
    totals[row[args.group_by]] += float(row[args.value_column])
    counts[row[args.group_by]] += 1
ranked = sorted(totals, key=lambda g: (-totals[g], g))
summary = {
    "title": args.title,
    "group_by": args.group_by,
    "value_column": args.value_column,
    "rows": len(rows),
    # Rounded so that float summation order never shows up in the file.
    "total": round(sum(totals.values()), 2),
    "groups": {g: {"rows": counts[g], "total": round(totals[g], 2)} for g in sorted(totals)},
    "top_groups": ranked[: args.top],
}

# A uri_file output names the file itself, not a folder to write into.
out = Path(args.summary)
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(summary, indent=2) + "\n")
print(f"{summary['title']}: {len(rows)} rows in {len(totals)} groups -> {out}")
