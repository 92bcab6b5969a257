"""Item-mean recommender: the entry script of the legacy optional_input sample module."""

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path


def parse_bool(text: str) -> bool:
    # Runners render booleans as Python's str(): True/False. Anything else is a wiring bug.
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")
    return text.lower() == "true"


def read_rows(folder: str) -> list[dict[str, str]]:
    # Sorted so that results never depend on directory listing order.
    rows: list[dict[str, str]] = []
    for path in sorted(Path(folder).glob("*.csv")):
        with open(path, newline="") as f:
            rows.extend(csv.DictReader(f))
    if not rows:
        sys.exit(f"no CSV rows under {folder}")
    return rows


parser = argparse.ArgumentParser()
parser.add_argument("--input-path", required=True)
parser.add_argument("--optional-input-path")
parser.add_argument("--string-param", required=True)
parser.add_argument("--optional-string-param")
parser.add_argument("--min-count", type=int, required=True)
parser.add_argument("--shrinkage", type=float, required=True)
parser.add_argument("--include-header", type=parse_bool, required=True)
parser.add_argument("--score-type", choices=["Rating prediction", "Item recommendation"])
parser.add_argument("--items-to-predict", choices=["Items in training set", "Items in score set"])
parser.add_argument("--top-k", type=int)
parser.add_argument("--output-path", required=True)
args = parser.parse_args()
for key, value in vars(args).items():
    print(f"received {key} = {value!r}")

# A child parameter must arrive exactly when its Enum parent selects it: strict on purpose,
# so a runner that forgets to drop (or to fill) a child's optional group fails loudly.
predicting = args.score_type == "Rating prediction"
if predicting != (args.items_to_predict is not None) or predicting == (args.top_k is not None):
    sys.exit(f"child parameters do not match score type {args.score_type!r}")

train = read_rows(args.input_path)
score_set = read_rows(args.optional_input_path) if args.optional_input_path else []
ratings = defaultdict(list)
for row in train:
    ratings[row["item"]].append(float(row["rating"]))
global_mean = sum(float(r["rating"]) for r in train) / len(train)
item_score = {
    item: round((sum(values) + args.shrinkage * global_mean) / (len(values) + args.shrinkage), 4)
    for item, values in ratings.items()
    if len(values) >= args.min_count
}

if predicting and args.items_to_predict == "Items in score set":
    if not args.optional_input_path:
        sys.exit("'Items in score set' needs the Optional input path (a score set)")
    pairs = [(r["user"], r["item"]) for r in score_set]
    # Unknown items fall back to the global mean: the usual cold-start baseline.
    result = [(u, i, item_score.get(i, round(global_mean, 4))) for u, i in pairs]
elif predicting:
    result = [
        (r["user"], r["item"], item_score[r["item"]]) for r in train if r["item"] in item_score
    ]
else:
    seen = defaultdict(set)
    for row in train:
        seen[row["user"]].add(row["item"])
    ranked = sorted(item_score.items(), key=lambda kv: (-kv[1], kv[0]))
    result = []
    for user in sorted(seen):
        unseen = [(item, score) for item, score in ranked if item not in seen[user]]
        result.extend((user, item, score) for item, score in unseen[: args.top_k])

out = Path(args.output_path)
out.mkdir(parents=True, exist_ok=True)
with open(out / "result.csv", "w", newline="") as f:
    writer = csv.writer(f, lineterminator="\n")
    if args.include_header:
        writer.writerow(["user", "item", "score"])
    writer.writerows(result)
info = {
    "received": {k: v for k, v in vars(args).items() if k not in ("input_path", "output_path")},
    "training_rows": len(train),
    "score_set_rows": len(score_set),
    "global_mean": round(global_mean, 4),
    "result_rows": len(result),
}
(out / "run_info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
print(f"wrote {len(result)} rows to {out / 'result.csv'}")
