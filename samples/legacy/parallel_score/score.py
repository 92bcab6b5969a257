"""Parallel entry script: lexicon sentiment score for each review file in a mini-batch."""

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
lexicon: dict[str, int] = {}
options = argparse.Namespace()
labels: Counter[str] = Counter()


def init() -> None:
    """Called once per worker before any mini-batch: parse args and load the lexicon."""
    global options
    parser = argparse.ArgumentParser()
    parser.add_argument("--lexicon", required=True)
    parser.add_argument("--threshold", type=float, required=True)
    parser.add_argument("--label-style", choices=["lower", "upper"], required=True)
    # parse_known_args: parallel drivers may append their own options to sys.argv.
    options, _unknown = parser.parse_known_args()
    for name, weight in (("positive", 1), ("negative", -1)):
        for line in (Path(options.lexicon) / f"{name}.txt").read_text().splitlines():
            word = line.split("#", 1)[0].strip().lower()
            if word:
                lexicon[word] = weight
    print(f"init: {len(lexicon)} lexicon words, threshold={options.threshold}", file=sys.stderr)


def run(mini_batch: list[str]) -> list[str]:
    """One result row per file: name, label, score in [-1, 1], matched words."""
    rows = []
    for file_path in mini_batch:
        words = WORD.findall(Path(file_path).read_text(encoding="utf-8").lower())
        hits = [w for w in words if w in lexicon]
        score = sum(lexicon[w] for w in hits) / max(1, len(hits))
        if score > options.threshold:
            label = "positive"
        elif score < -options.threshold:
            label = "negative"
        else:
            label = "neutral"
        label = label.upper() if options.label_style == "upper" else label
        labels[label] += 1
        rows.append(f"{Path(file_path).name}\t{label}\t{score:.3f}\t{','.join(sorted(set(hits)))}")
    return rows


def shutdown() -> None:
    """Called once after the last mini-batch."""
    print(f"shutdown: {dict(sorted(labels.items()))}", file=sys.stderr)
