"""The pipeline of pipeline.yml, built in Python with runner's DSL.

A loaded module is called with python-named keyword arguments and returns a node whose
`.outputs.<name>` feed later nodes; `@runner.pipeline` turns the function into a pipeline.
Each node is named as its job in pipeline.yml, so that both share the cache, the step names
of `--from`/`--only` and the progress lines.

    python samples/sar/pipeline_dsl.py [RATINGS_FILE]
"""

import sys
from pathlib import Path

import runner

HERE = Path(__file__).resolve().parent
MODULES = HERE / "modules"

split = runner.load_module(MODULES / "stratified_splitter.yaml")
train = runner.load_module(MODULES / "sar_train.yaml")
score = runner.load_module(MODULES / "sar_score.yaml")
evaluations = {
    name: runner.load_module(MODULES / f"evaluate_{name}.yaml")
    for name in ("map", "ndcg", "precision", "recall")
}


@runner.pipeline
def sar(ratings, ratio=0.75, seed=42, top_k=10, similarity="jaccard"):
    s = split(input_path=ratings, ratio=ratio, seed=seed)
    s.name = "split"
    test = s.outputs.output_test_data
    t = train(train_data=s.outputs.output_train_data, similarity=similarity)
    t.name = "train"
    r = score(model=t.outputs.model, dataset_to_score=test, top_k=top_k, remove_seen=True)
    r.name = "score"
    # The pipeline's outputs: one metric file per evaluation, step and output named alike.
    metrics = {}
    for name, evaluate in evaluations.items():
        e = evaluate(test_data=test, recommendations=r.outputs.recommendations, k=top_k)
        e.name = name
        metrics[name] = e.outputs.metric
    return metrics


if __name__ == "__main__":
    ratings = sys.argv[1] if len(sys.argv) > 1 else HERE / "data" / "ratings.csv"
    sar(ratings=ratings).run()
