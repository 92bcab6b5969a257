"""Per-user stratified split, after Microsoft Recommenders' `python_stratified_split`.

Each user's ratings are shuffled and the first `round(ratio * n)` go to train (half rounds
up), at least one: a user with a single rating is all train, so every test user is known to
the model. Rows are put in a canonical order before shuffling, so the split depends only on
the set of rows and the seed, never on the order of the input file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def train_counts(sizes: np.ndarray, ratio: float) -> np.ndarray:
    """How many of each user's `sizes` ratings go to train."""
    return np.clip(np.floor(ratio * sizes + 0.5), 1, sizes).astype(np.int64)


def stratified_split(
    ratings: pd.DataFrame, ratio: float, seed: int, min_ratings: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must be between 0 and 1, got {ratio}")
    order = ["user", "item", "timestamp", "rating"]
    ratings = ratings.sort_values(order, kind="stable").reset_index(drop=True)
    # One random key per row, ranked within the user: a per-user shuffle without a Python loop.
    # Drawn before filtering, so min_ratings leaves the other users' splits as they were.
    key = pd.Series(np.random.default_rng(seed).random(len(ratings)))
    sizes = ratings.groupby("user")["user"].transform("size").to_numpy()
    active = sizes >= min_ratings
    ratings, key, sizes = ratings[active], key[active], sizes[active]
    position = key.groupby(ratings["user"].to_numpy()).rank(method="first").to_numpy()
    in_train = position <= train_counts(sizes, ratio)
    return (
        ratings[in_train].reset_index(drop=True),
        ratings[~in_train].reset_index(drop=True),
    )
