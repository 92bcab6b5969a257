"""Command-line pieces the module entry scripts share."""

from __future__ import annotations

import argparse

from sarlib.io import read_ratings, read_recommendations, write_json
from sarlib.metrics import metric


def parse_bool(text: str) -> bool:
    # The runner renders booleans as Python's str(): True/False. Anything else is a wiring bug.
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")
    return text.lower() == "true"


def evaluate(name: str) -> None:
    """The whole of an evaluation module: the four differ only in the metric they compute."""
    parser = argparse.ArgumentParser(description=f"{name}@k of recommendations")
    parser.add_argument("--test-data", required=True)
    parser.add_argument("--recommendations", required=True)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--metric-file", required=True, help="the JSON file to write")
    args = parser.parse_args()

    test = read_ratings(args.test_data)
    recommendations = read_recommendations(args.recommendations)
    users = len(set(test["user"]) & set(recommendations["user"]))
    value = metric(name, test, recommendations, args.k)
    result = {"metric": name, "k": args.k, "value": value, "users": users}
    write_json(args.metric_file, result)
    print(result)
