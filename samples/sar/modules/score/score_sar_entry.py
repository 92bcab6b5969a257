"""Score SAR module: the top k items for each user, as user,item,prediction,rank."""

import argparse
import sys

from sarlib import sar
from sarlib.cli import parse_bool
from sarlib.io import read_ratings, write_recommendations

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--dataset-to-score", help="ratings whose users to score; default: all")
parser.add_argument("--top-k", type=int, required=True)
parser.add_argument("--remove-seen", type=parse_bool, required=True)
parser.add_argument("--recommendations", required=True)
args = parser.parse_args()

model = sar.SARModel.load(args.model)
users = model.users
if args.dataset_to_score:
    wanted = set(read_ratings(args.dataset_to_score)["user"])
    users = [user for user in model.users if user in wanted]
    # SAR knows only the users it was trained on; the others have no affinity to score from.
    unknown = len(wanted) - len(users)
    if unknown:
        print(f"skipping {unknown} users the model has not seen", file=sys.stderr)
recommendations = sar.recommend(model, users, args.top_k, args.remove_seen)
write_recommendations(recommendations, args.recommendations)
print(f"{len(recommendations)} recommendations for {len(users)} users")
