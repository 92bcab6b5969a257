"""SAR (Simple Algorithm for Recommendations), after Microsoft Recommenders' `SARSingleNode`.

- Co-occurrence: C = B^T B, with B[u, i] = 1 when user u rated item i; C[i, i] counts the
  users of item i. Counts below the support threshold are set to 0.
- Similarity: C itself, Jaccard C[i,j] / (C[i,i] + C[j,j] - C[i,j]) or lift
  C[i,j] / (C[i,i] * C[j,j]); 0 where a denominator is 0 (its numerator is 0 then too).
- Affinity: A[u, i] = sum over u's ratings of i of rating * 2^(-(t_ref - t) / T), T the
  half-life, t_ref the latest timestamp of the training data; without decay, the ratings.
- Scores: A S, without the items a user rated in training on request. Ties are broken by
  item index so that recommendations are deterministic.

Matrices are dense numpy arrays: the sample's data and MovieLens 100k (1682 items) fit easily.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SIMILARITIES = ("jaccard", "lift", "cooccurrence")
SECONDS_PER_DAY = 24 * 60 * 60
MODEL_FILE = "sar_model.json"
ARRAYS = ("item_cooccurrence", "item_similarity", "user_affinity", "user_seen")


@dataclass
class SARModel:
    users: list[str]
    items: list[str]
    item_cooccurrence: np.ndarray  # items x items, int64
    item_similarity: np.ndarray  # items x items, float64
    user_affinity: np.ndarray  # users x items, float64
    # users x items, bool. Not `affinity != 0`: a zero rating, or a decay weight that underflows
    # for a very old rating, still means the user has seen the item.
    user_seen: np.ndarray
    parameters: dict[str, Any]

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # Plain .npy, not .npz: numpy's zip entries carry the current time, which would make
        # two identical trainings differ byte for byte (and defeat the runner's result cache).
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
        index = {"users": self.users, "items": self.items, "parameters": self.parameters}
        (folder / MODEL_FILE).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> SARModel:
        folder = Path(folder)
        index = json.loads((folder / MODEL_FILE).read_text())
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in ARRAYS}
        return cls(index["users"], index["items"], parameters=index["parameters"], **arrays)


def cooccurrence(seen: np.ndarray, threshold: int) -> np.ndarray:
    # Float matmul goes through BLAS (numpy's integer matmul is a slow plain loop) and is still
    # exact: every partial sum is a whole number far below 2**53.
    as_float = seen.astype(np.float64)
    counts = np.rint(as_float.T @ as_float).astype(np.int64)
    return np.where(counts >= threshold, counts, 0)


def similarity(counts: np.ndarray, kind: str) -> np.ndarray:
    counts = counts.astype(np.float64)
    if kind == "cooccurrence":
        return counts
    diag = np.diag(counts)
    if kind == "jaccard":
        denominator = diag[:, None] + diag[None, :] - counts
    elif kind == "lift":
        denominator = diag[:, None] * diag[None, :]
    else:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {kind!r}")
    out = np.zeros_like(counts)
    np.divide(counts, denominator, out=out, where=denominator > 0)
    return out


def affinity_weights(timestamps: np.ndarray, t_ref: int, half_life_days: float) -> np.ndarray:
    return np.power(2.0, -(t_ref - timestamps) / (half_life_days * SECONDS_PER_DAY))


def fit(
    ratings: pd.DataFrame,
    similarity_type: str = "jaccard",
    time_decay: bool = True,
    half_life_days: float = 30.0,
    threshold: int = 1,
) -> SARModel:
    if threshold < 1:
        raise ValueError("the support threshold must be at least 1")
    users = sorted(ratings["user"].unique())
    items = sorted(ratings["item"].unique())
    u = pd.Categorical(ratings["user"], categories=users).codes
    i = pd.Categorical(ratings["item"], categories=items).codes

    t_ref = int(ratings["timestamp"].max())
    weight = ratings["rating"].to_numpy(dtype=np.float64)
    if time_decay:
        weight = weight * affinity_weights(ratings["timestamp"].to_numpy(), t_ref, half_life_days)
    affinity = np.zeros((len(users), len(items)))
    np.add.at(affinity, (u, i), weight)  # repeated (user, item) pairs add up
    seen = np.zeros((len(users), len(items)), dtype=bool)
    seen[u, i] = True

    counts = cooccurrence(seen, threshold)
    parameters = {
        "similarity": similarity_type,
        "time_decay": time_decay,
        "half_life_days": half_life_days,
        "support_threshold": threshold,
        "reference_time": t_ref,
        "training_rows": len(ratings),
    }
    return SARModel(
        users, items, counts, similarity(counts, similarity_type), affinity, seen, parameters
    )


def recommend(
    model: SARModel, users: list[str], top_k: int, remove_seen: bool = True
) -> pd.DataFrame:
    """The top_k items of each user (users unknown to the model are skipped by the caller)."""
    index = {user: n for n, user in enumerate(model.users)}
    rows = np.array([index[user] for user in users], dtype=np.int64)
    scores = model.user_affinity[rows] @ model.item_similarity
    if remove_seen:
        scores[model.user_seen[rows]] = -np.inf
    # A stable sort of the negated scores keeps equal scores in item order.
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
    best = np.take_along_axis(scores, ranked, axis=1)
    keep = np.isfinite(best)  # a seen item never fills a slot, even when k exceeds the rest
    items = np.asarray(model.items, dtype=object)
    ranks = np.broadcast_to(np.arange(1, ranked.shape[1] + 1), ranked.shape)
    return pd.DataFrame(
        {
            "user": np.repeat(np.asarray(users, dtype=object), ranked.shape[1])[keep.ravel()],
            "item": items[ranked][keep],
            "prediction": best[keep],
            "rank": ranks[keep],
        }
    )
