"""Train SAR module: item similarity and user affinity from a training ratings folder."""

import argparse

from sarlib import sar
from sarlib.cli import parse_bool
from sarlib.io import read_ratings

parser = argparse.ArgumentParser()
parser.add_argument("--train-data", required=True)
parser.add_argument("--similarity", choices=sar.SIMILARITIES, required=True)
parser.add_argument("--time-decay", type=parse_bool, required=True)
parser.add_argument("--half-life-days", type=float, required=True)
parser.add_argument("--support-threshold", type=int, required=True)
parser.add_argument("--model", required=True)
args = parser.parse_args()

ratings = read_ratings(args.train_data)
model = sar.fit(
    ratings, args.similarity, args.time_decay, args.half_life_days, args.support_threshold
)
model.save(args.model)
print(f"SAR model: {len(model.users)} users x {len(model.items)} items, {model.parameters}")
