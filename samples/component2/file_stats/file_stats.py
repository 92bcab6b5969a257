"""Parallel entry script: `wc`-style counts for each file of a mini-batch."""

import argparse
from pathlib import Path

options = argparse.Namespace()


def init() -> None:
    global options
    parser = argparse.ArgumentParser()
    # Booleans arrive rendered as True/False.
    parser.add_argument("--count-blank-lines", choices=["True", "False"], required=True)
    options, _unknown = parser.parse_known_args()


def run(mini_batch: list[str]) -> list[str]:
    rows = []
    for file_path in mini_batch:
        text = Path(file_path).read_text(encoding="utf-8")
        lines = text.splitlines()
        if options.count_blank_lines == "False":
            lines = [line for line in lines if line.strip()]
        rows.append(f"{Path(file_path).name}\t{len(lines)}\t{len(text.split())}\t{len(text)}")
    return rows


def shutdown() -> None:
    print("file_stats: done")
