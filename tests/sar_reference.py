"""Microsoft Recommenders' ranking metrics, written straight from their formulas: the
independent reference the SAR sample's evaluation modules are checked against."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

METRICS = ("map", "ndcg", "precision", "recall")


def reference_metrics(
    test_pairs: Iterable[tuple[str, str]], recommendations: Iterable[dict[str, str]], k: int
) -> dict[str, float]:
    """map/ndcg/precision/recall at k over the users present in both sets; relevance: the
    item is in the user's test set; recommendations are rows with user, item and rank."""
    relevant: dict[str, set[str]] = defaultdict(set)
    for user, item in test_pairs:
        relevant[user].add(item)
    ranked: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in recommendations:
        ranked[row["user"]].append((int(row["rank"]), row["item"]))
    users = relevant.keys() & ranked.keys()
    total = dict.fromkeys(METRICS, 0.0)
    for user in users:
        top = [item for _, item in sorted(ranked[user])[:k]]
        hit_ranks = [n for n, item in enumerate(top, start=1) if item in relevant[user]]
        best = min(len(relevant[user]), k)
        total["precision"] += len(hit_ranks) / k
        total["recall"] += len(hit_ranks) / len(relevant[user])
        total["map"] += sum(j / r for j, r in enumerate(hit_ranks, start=1)) / best
        dcg = sum(1 / math.log(1 + r) for r in hit_ranks)
        total["ndcg"] += dcg / sum(1 / math.log(1 + r) for r in range(1, best + 1))
    return {metric: value / len(users) for metric, value in total.items()}
