"""MAP@k (mean average precision, `map_at_k`) of recommendations against a test ratings folder."""

from sarlib.cli import evaluate

evaluate("map")
