"""Word counts and lexicon tallies for a folder of text documents (component 2.0 sample)."""

import argparse
import csv
import json
import zipfile
from collections import Counter
from pathlib import Path

# textlib/, stopwords.txt and lexicon.zip are not in this folder in the source tree: the
# additional includes put them at the snapshot root, next to this script.
import textlib

ROOT = Path(__file__).resolve().parent

parser = argparse.ArgumentParser()
parser.add_argument("--documents", required=True)
parser.add_argument("--top-n", type=int, required=True)
parser.add_argument("--min-length", type=int, default=1)
parser.add_argument("--title", required=True)
parser.add_argument("--output", required=True)
args = parser.parse_args()
print(f"title={args.title!r} top_n={args.top_n} min_length={args.min_length}")

stopwords = textlib.read_word_list((ROOT / "stopwords.txt").read_text())
# The runner builds lexicon.zip from the lexicon/ folder, keeping that top folder.
with zipfile.ZipFile(ROOT / "lexicon.zip") as archive:
    lexicon = {
        kind: textlib.read_word_list(archive.read(f"lexicon/{kind}.txt").decode())
        for kind in ("positive", "negative")
    }

documents = sorted(Path(args.documents).glob("*.txt"))
words = [
    word
    for doc in documents
    for word in textlib.tokenize(doc.read_text(encoding="utf-8"), args.min_length)
    if word not in stopwords
]
counts = Counter(words)

out = Path(args.output)
out.mkdir(parents=True, exist_ok=True)
with open(out / "counts.csv", "w", newline="") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["word", "count"])
    writer.writerows(textlib.top_counts(words, len(counts)))
report = {
    "title": args.title,
    "documents": [doc.name for doc in documents],
    "min_length": args.min_length,
    "total_words": len(words),
    "distinct_words": len(counts),
    "top": textlib.top_counts(words, args.top_n),
    **{kind: sum(counts[w] for w in lexicon[kind]) for kind in ("positive", "negative")},
}
(out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
print(f"{len(documents)} documents, {len(words)} words, {len(counts)} distinct")
