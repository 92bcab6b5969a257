"""Writes ratings.csv: a synthetic MovieLens-like data set with structure SAR can find.

300 users rate items out of 200 in 8 genres of 25. Each user has a favourite genre and a second
one; picks follow taste times popularity (the first items of a genre are its hits), so items
of one genre co-occur and a user's unseen favourites are predictable. Ratings are higher for
the favourite genre; timestamps are spread over 2023. About 5% of users rate a single item.

Only `random.random()` is used for randomness: Python guarantees that sequence for a seed
across versions, so this script rewrites the committed file byte for byte:

    python samples/sar/data/generate.py [--out samples/sar/data/ratings.csv]
"""

import argparse
import bisect
import itertools
import math
import random
from pathlib import Path

SEED = 20230101
USERS, GENRES, ITEMS_PER_GENRE = 300, 8, 25
START = 1672531200  # 2023-01-01T00:00:00Z
YEAR = 365 * 24 * 60 * 60
TASTE = (0.7, 0.2)  # shares of the favourite and second genre; the rest share what is left


def pick(rng: random.Random, weights: list[float]) -> int:
    """An index drawn with probability proportional to its weight."""
    cumulative = list(itertools.accumulate(weights))
    # min(): rounding could lift the product to the total itself, past the last index.
    return min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(weights) - 1)


def user_ratings(rng: random.Random, user: int) -> list[tuple[int, int, int, int]]:
    genre_appeal = [1 / math.sqrt(g + 1) for g in range(GENRES)]
    favourite = pick(rng, genre_appeal)
    second = pick(rng, [0.0 if g == favourite else a for g, a in enumerate(genre_appeal)])
    share = [(1 - sum(TASTE)) / (GENRES - 2)] * GENRES
    share[favourite], share[second] = TASTE

    count = 1 if rng.random() < 0.05 else min(4 + int(-14 * math.log(1 - rng.random())), 80)
    items = list(range(GENRES * ITEMS_PER_GENRE))
    weights = [share[i // ITEMS_PER_GENRE] / (1 + i % ITEMS_PER_GENRE) ** 0.7 for i in items]
    first_day = START + int(rng.random() * YEAR / 2)
    rows = []
    for _ in range(count):
        n = pick(rng, weights)
        item = items.pop(n)
        weights.pop(n)
        genre = item // ITEMS_PER_GENRE
        bonus = 1.0 if genre == favourite else 0.5 if genre == second else -0.5
        rating = min(5, max(1, round(3.2 + bonus + 3 * (rng.random() - 0.5))))
        timestamp = first_day + int(rng.random() * (START + YEAR - first_day))
        rows.append((user, item + 1, rating, timestamp))
    return sorted(rows, key=lambda row: (row[3], row[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("ratings.csv"))
    args = parser.parse_args()
    rng = random.Random(SEED)
    rows = [row for user in range(1, USERS + 1) for row in user_ratings(rng, user)]
    lines = ["user,item,rating,timestamp", *(",".join(map(str, row)) for row in rows)]
    args.out.write_text("\n".join(lines) + "\n")
    items = len({row[1] for row in rows})
    print(f"{len(rows)} ratings of {USERS} users and {items} items -> {args.out}")


if __name__ == "__main__":
    main()
