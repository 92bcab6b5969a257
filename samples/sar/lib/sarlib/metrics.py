"""Ranking metrics, defined as Microsoft Recommenders' `python_evaluation` defines them.

Over the n users present in both the test set and the recommendations; an item is relevant
to a user when it is in the user's test set T_u; R_u is the user's top k recommendations, in
rank order; hits are the relevant items of R_u, at ranks r_1 < r_2 < ...

- precision@k = 1/n sum_u |hits_u| / k  (k, not |R_u|: fewer than k recommendations cost)
- recall@k    = 1/n sum_u |hits_u| / |T_u|
- MAP@k       = 1/n sum_u (sum_j j / r_j) / min(|T_u|, k)         (`map_at_k`)
- nDCG@k      = 1/n sum_u DCG_u / IDCG_u, DCG_u = sum_j 1 / ln(1 + r_j),
                IDCG_u = sum_{r=1}^{min(|T_u|, k)} 1 / ln(1 + r)  (binary relevance)

A user without hits contributes 0; if no user has a hit, every metric is 0.
Recommendations are ordered by their `rank` column (ties in score were already broken by the
scorer); Recommenders re-sorts by prediction, which is the same order when scores differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

METRICS = ("map", "ndcg", "precision", "recall")


@dataclass
class Hits:
    ranks: pd.DataFrame  # user, rank: one row per hit
    relevant: pd.Series  # |T_u| per common user
    users: int  # n


def hits(test: pd.DataFrame, recommendations: pd.DataFrame, k: int) -> Hits:
    common = set(test["user"]) & set(recommendations["user"])
    test = test[test["user"].isin(common)].drop_duplicates(["user", "item"])
    top = recommendations[recommendations["user"].isin(common)].sort_values(
        ["user", "rank"], kind="stable"
    )
    top = top.groupby("user").head(k)
    # Re-rank 1..k: a `rank` column with gaps (e.g. filtered upstream) must not shift positions.
    top = top.assign(rank=top.groupby("user").cumcount() + 1)
    found = top.merge(test[["user", "item"]], on=["user", "item"])[["user", "rank"]]
    return Hits(found, test.groupby("user").size(), len(common))


def metric(name: str, test: pd.DataFrame, recommendations: pd.DataFrame, k: int) -> float:
    h = hits(test, recommendations, k)
    if h.ranks.empty:
        return 0.0
    per_user = h.ranks.groupby("user")
    relevant = h.relevant.loc[per_user.size().index]  # users with hits, in groupby order
    if name == "precision":
        total = (per_user.size() / k).sum()
    elif name == "recall":
        total = (per_user.size() / relevant).sum()
    elif name == "map":
        ranks = h.ranks.sort_values(["user", "rank"])
        precision_at_hit = (ranks.groupby("user").cumcount() + 1) / ranks["rank"]
        total = (precision_at_hit.groupby(ranks["user"]).sum() / np.minimum(relevant, k)).sum()
    elif name == "ndcg":
        dcg = (1.0 / np.log1p(h.ranks["rank"])).groupby(h.ranks["user"]).sum()
        ideal_by_length = np.cumsum(1.0 / np.log1p(np.arange(1, k + 1)))
        lengths = np.minimum(relevant, k).to_numpy()
        ideal = pd.Series(ideal_by_length[lengths - 1], index=relevant.index)
        total = (dcg / ideal).sum()
    else:
        raise ValueError(f"metric must be one of {METRICS}, got {name!r}")
    return float(total / h.users)
