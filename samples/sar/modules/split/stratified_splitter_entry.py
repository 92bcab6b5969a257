"""Stratified Splitter module: per-user split of a ratings file into train and test folders."""

import argparse

from sarlib.io import read_ratings, write_ratings
from sarlib.split import stratified_split

parser = argparse.ArgumentParser()
parser.add_argument("--input-path", required=True, help="ratings file, or a folder of them")
parser.add_argument("--ratio", type=float, required=True)
parser.add_argument("--seed", type=int, required=True)
parser.add_argument("--min-ratings-per-user", type=int, required=True)
parser.add_argument("--output-train-data", required=True)
parser.add_argument("--output-test-data", required=True)
args = parser.parse_args()

ratings = read_ratings(args.input_path)
train, test = stratified_split(ratings, args.ratio, args.seed, args.min_ratings_per_user)
write_ratings(train, args.output_train_data)
write_ratings(test, args.output_test_data)
print(
    f"{len(ratings)} ratings of {ratings['user'].nunique()} users -> "
    f"train {len(train)}, test {len(test)} ({test['user'].nunique()} users)"
)
