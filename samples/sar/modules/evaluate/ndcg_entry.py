"""nDCG@k (normalised discounted cumulative gain) of recommendations against test ratings."""

from sarlib.cli import evaluate

evaluate("ndcg")
