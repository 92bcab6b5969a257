"""Recall@k of recommendations against a test ratings folder."""

from sarlib.cli import evaluate

evaluate("recall")
