"""Reading and writing the files that flow between the SAR modules.

Ratings folders hold `ratings.csv` (`user,item,rating,timestamp`), recommendation folders
`recommendations.csv` (`user,item,prediction,rank`). Ids stay strings end to end, so that
`007` and `7` are different users and joins never depend on type inference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

RATING_COLUMNS = ["user", "item", "rating", "timestamp"]
RECOMMENDATION_COLUMNS = ["user", "item", "prediction", "rank"]
RATINGS_FILE = "ratings.csv"
RECOMMENDATIONS_FILE = "recommendations.csv"
# Files a ratings folder may hold: ours, and MovieLens' tab-separated `u.data`.
DATA_SUFFIXES = (".csv", ".tsv", ".data")


def data_files(path: str | Path) -> list[Path]:
    """The file itself, or a folder's data files in name order (listing order is arbitrary)."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in DATA_SUFFIXES)
    if not files:
        raise SystemExit(f"no {'/'.join(DATA_SUFFIXES)} file in {path}")
    return files


def _layout(first_line: str) -> tuple[str, bool]:
    """Delimiter and whether the line is a header.

    MovieLens 100k `u.data` is tab-separated without a header; exported CSVs have one. Data
    rows always carry a number in the rating column, a header never does.
    """
    sep = "\t" if "\t" in first_line else ","
    fields = first_line.rstrip("\r\n").split(sep)
    if len(fields) < 4:
        raise SystemExit(f"expected user, item, rating, timestamp columns, got {first_line!r}")
    try:
        float(fields[2])
    except ValueError:
        return sep, True
    return sep, False


def read_ratings(path: str | Path) -> pd.DataFrame:
    """User, item, rating, timestamp from the first four columns of each file, by position."""
    frames = []
    for file in data_files(path):
        with open(file) as f:
            sep, has_header = _layout(f.readline())
        frames.append(
            pd.read_csv(
                file,
                sep=sep,
                header=0 if has_header else None,
                names=RATING_COLUMNS,
                usecols=range(4),
                dtype={"user": str, "item": str, "rating": "float64", "timestamp": "int64"},
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_ratings(ratings: pd.DataFrame, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RATINGS_FILE
    ratings[RATING_COLUMNS].to_csv(path, index=False, float_format="%.10g", lineterminator="\n")
    return path


def read_recommendations(path: str | Path) -> pd.DataFrame:
    types = {"user": str, "item": str, "prediction": "float64", "rank": "int64"}
    frames = [pd.read_csv(file, dtype=types) for file in data_files(path)]
    return pd.concat(frames, ignore_index=True)[RECOMMENDATION_COLUMNS]


def write_recommendations(recommendations: pd.DataFrame, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RECOMMENDATIONS_FILE
    recommendations[RECOMMENDATION_COLUMNS].to_csv(
        path, index=False, float_format="%.10g", lineterminator="\n"
    )
    return path


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Sorted keys and a final newline: identical inputs give byte-identical files.
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
