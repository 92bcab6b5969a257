"""The SAR sample's seven module scripts work on their own, chained as pipeline.yml chains them.

Each script runs with sys.executable in a folder laid out like its snapshot (the spec's code
folder or file, plus `sarlib/` from the additional includes), with argv rendered from its spec.
The checks are independent of sarlib: the split is checked row by row, the metrics against a
plain-Python computation from their formulas, and SAR's scores against hand-computed values.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sar_reference import METRICS, reference_metrics

from runner import load_module
from runner.spec.model import InputPort

SAR = Path(__file__).resolve().parents[2] / "samples" / "sar"
MODULES = SAR / "modules"
RATINGS = SAR / "data" / "ratings.csv"
SPECS = {
    "split": "stratified_splitter.yaml",
    "train": "sar_train.yaml",
    "score": "sar_score.yaml",
    **{metric: f"evaluate_{metric}.yaml" for metric in METRICS},
}
# 2.0 `{inputs.x}` and CLI v2 `${{inputs.x}}`; optional groups `[...]` and `$[[...]]`.
PLACEHOLDER = re.compile(r"\$?\{\{?\s*(?:inputs|outputs)\.(\w+)\s*\}\}?")
GROUP = re.compile(r"\$?\[\[?(.*?)\]\]?")
DEFAULTS = {
    "split": {"Ratio": "0.75", "Seed": "42", "Min ratings per user": "1"},
    "train": {
        "similarity": "jaccard",
        "time_decay": "True",
        "half_life_days": "30.0",
        "support_threshold": "1",
    },
    "score": {"top_k": "10", "remove_seen": "True"},
}

Row = tuple[str, str, str, str]


def load(spec: Path) -> dict[str, Any]:
    with open(spec) as f:
        return yaml.safe_load(f)  # type: ignore[no-any-return]


def render(spec: dict[str, Any], values: dict[str, str]) -> list[str]:
    """argv after `python`; a group is dropped when one of its placeholders has no value."""
    if "amlModuleIdentifier" in spec:
        container = spec["implementation"]["container"]
        args = [
            values[next(iter(a.values()))] if isinstance(a, dict) else a for a in container["args"]
        ]
        return [*container["command"][1:], *map(str, args)]

    def group(match: re.Match[str]) -> str:
        inner = match.group(1)
        return inner if all(n in values for n in PLACEHOLDER.findall(inner)) else ""

    tokens = shlex.split(GROUP.sub(group, spec["command"]))
    return [PLACEHOLDER.sub(lambda m: values[m.group(1)], t) for t in tokens[1:]]


def code_of(spec_path: Path, spec: dict[str, Any]) -> Path:
    if "amlModuleIdentifier" in spec:
        return spec_path.parent / spec["implementation"]["container"]["sourceDirectory"]
    return spec_path.parent / spec["code"]


Job = tuple[str, dict[str, str], Path]  # step, input values by name, a folder of its own


def start(step: str, values: dict[str, str], workdir: Path) -> subprocess.Popen[str]:
    """Build the snapshot the runner would build and start the script in it."""
    spec_path = MODULES / SPECS[step]
    spec = load(spec_path)
    code = code_of(spec_path, spec)
    snapshot = workdir / f"snapshot-{step}"
    if code.is_dir():
        shutil.copytree(code, snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        snapshot.mkdir(parents=True)
        shutil.copy(code, snapshot)
    shutil.copytree(SAR / "lib" / "sarlib", snapshot / "sarlib")
    argv = render(spec, {**DEFAULTS.get(step, {}), **values})
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [sys.executable, *argv],
        cwd=snapshot,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_modules(*jobs: Job) -> None:
    """Run independent modules at once, as a pipeline would: importing pandas dominates."""
    for process in [start(*job) for job in jobs]:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def split(workdir: Path, ratings: Path, **values: str) -> Job:
    """A split job writing `workdir/train` and `workdir/test`."""
    out = {"Output train data": str(workdir / "train"), "Output test data": str(workdir / "test")}
    return ("split", {"Input path": str(ratings), **values, **out}, workdir)


# ---- the pipeline on the shipped data, default parameters ----------------------------------


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """split -> train -> score -> metrics (k 10 and 5), as pipeline.yml wires them."""
    work = tmp_path_factory.mktemp("sar")
    run_modules(split(work, RATINGS))
    run_modules(("train", {"train_data": str(work / "train"), "model": str(work / "model")}, work))
    values = {"model": str(work / "model"), "dataset_to_score": str(work / "test")}
    run_modules(("score", {**values, "recommendations": str(work / "recs")}, work))
    evaluations: list[Job] = []
    for metric in METRICS:
        for k in ("10", "5"):
            values = {"test_data": str(work / "test"), "recommendations": str(work / "recs")}
            values |= {"k": k, "metric": str(work / "metrics" / f"{metric}@{k}.json")}
            evaluations.append((metric, values, work / f"{metric}@{k}"))
    run_modules(*evaluations)
    return work


def ratings_rows(path: Path) -> list[Row]:
    return [(r["user"], r["item"], r["rating"], r["timestamp"]) for r in read_rows(path)]


def test_split_is_per_user_stratified(pipeline: Path) -> None:
    everything = ratings_rows(RATINGS)
    train = ratings_rows(pipeline / "train" / "ratings.csv")
    test = ratings_rows(pipeline / "test" / "ratings.csv")
    assert Counter(train) + Counter(test) == Counter(everything)
    sizes = Counter(row[0] for row in everything)
    in_train = Counter(row[0] for row in train)
    for user, n in sizes.items():
        # round(0.75 n), halves up, at least one: a single rating always goes to train.
        assert in_train[user] == max(1, math.floor(0.75 * n + 0.5)), user
    assert 1 in sizes.values()  # the data has single-rating users to exercise that rule
    assert abs(len(train) / len(everything) - 0.75) < 0.02


def test_split_depends_on_seed_only(pipeline: Path, tmp_path: Path) -> None:
    # MovieLens u.data layout: tab-separated, no header, rows in another order.
    rows = ratings_rows(RATINGS)
    u_data = tmp_path / "u.data"
    u_data.write_text("".join("\t".join(row) + "\n" for row in reversed(rows)))
    run_modules(
        split(tmp_path / "same", u_data),
        split(tmp_path / "other", RATINGS, Seed="7"),
        split(tmp_path / "active", RATINGS, **{"Min ratings per user": "5"}),
    )
    for part in ("train", "test"):
        same = ratings_rows(tmp_path / "same" / part / "ratings.csv")
        assert same == ratings_rows(pipeline / part / "ratings.csv")
    train = ratings_rows(pipeline / "train" / "ratings.csv")
    other_train = ratings_rows(tmp_path / "other" / "train" / "ratings.csv")
    assert Counter(r[0] for r in other_train) == Counter(r[0] for r in train)
    assert set(other_train) != set(train)
    # Users with fewer than 5 ratings are left out of both parts; the others split as before.
    sizes = Counter(row[0] for row in rows)
    for part in ("train", "test"):
        active = ratings_rows(tmp_path / "active" / part / "ratings.csv")
        assert active == [
            r for r in ratings_rows(pipeline / part / "ratings.csv") if sizes[r[0]] >= 5
        ]


def test_recommendations_are_top_k_unseen_items(pipeline: Path) -> None:
    recommendations = read_rows(pipeline / "recs" / "recommendations.csv")
    seen = {(r[0], r[1]) for r in ratings_rows(pipeline / "train" / "ratings.csv")}
    test_users = {r[0] for r in ratings_rows(pipeline / "test" / "ratings.csv")}
    by_user: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in recommendations:
        assert (row["user"], row["item"]) not in seen
        by_user[row["user"]].append(row)
    assert set(by_user) == test_users
    for rows in by_user.values():
        assert [int(r["rank"]) for r in rows] == list(range(1, 11))
        scores = [float(r["prediction"]) for r in rows]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("k", [10, 5])
def test_metrics_match_their_formulas(pipeline: Path, k: int) -> None:
    test_rows = ratings_rows(pipeline / "test" / "ratings.csv")
    recommendations = read_rows(pipeline / "recs" / "recommendations.csv")
    expected = reference_metrics([(r[0], r[1]) for r in test_rows], recommendations, k)
    for metric in METRICS:
        result = json.loads((pipeline / "metrics" / f"{metric}@{k}.json").read_text())
        assert result == {
            "metric": metric,
            "k": k,
            "value": pytest.approx(expected[metric], rel=1e-12),
            "users": len({r[0] for r in test_rows}),
        }
    # SAR finds the synthetic tastes: far better than chance (10 of ~190 unseen items).
    assert expected["precision"] > 0.1


# ---- SAR on a tiny hand-made data set --------------------------------------------------------

DAY = 24 * 60 * 60
T = 1_700_000_000
# Users a, b, c; items w, x, y, z (model index order). Co-occurrence, users per pair:
#        w  x  y  z
#   w    1  0  1  1      Jaccard C_ij / (C_ii + C_jj - C_ij): x-y, x-z, y-z 1/3; y-w, z-w 1/2
#   x    0  2  1  1      lift C_ij / (C_ii C_jj): x-y, x-z, y-z 1/4; y-w, z-w 1/2;
#   y    1  1  2  1        diagonal 1/2 (x, y, z) and 1 (w)
#   z    1  1  1  2
TINY = [
    ("a", "x", 5, T - 30 * DAY),
    ("a", "y", 3, T),
    ("b", "x", 4, T),
    ("b", "z", 2, T),
    ("c", "y", 1, T),
    ("c", "z", 4, T),
    ("c", "w", 2, T),
]
COOCCURRENCE = [[1, 0, 1, 1], [0, 2, 1, 1], [1, 1, 2, 1], [1, 1, 1, 2]]


MODELS = {
    "jaccard": {"similarity": "jaccard", "time_decay": "False"},
    "lift": {"similarity": "lift", "time_decay": "False"},
    "cooccurrence": {"similarity": "cooccurrence", "time_decay": "False"},
    "decayed": {"similarity": "jaccard", "time_decay": "True", "half_life_days": "30.0"},
    "threshold 2": {"similarity": "jaccard", "time_decay": "False", "support_threshold": "2"},
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SAR model per entry of MODELS, trained on TINY, in `<folder>/<name>/model`."""
    work = tmp_path_factory.mktemp("tiny")
    lines = ["user,item,rating,timestamp", *(",".join(map(str, row)) for row in TINY)]
    (work / "data").mkdir()
    (work / "data" / "ratings.csv").write_text("\n".join(lines) + "\n")
    jobs: list[Job] = []
    for name, values in MODELS.items():
        model = {"train_data": str(work / "data"), "model": str(work / name / "model")}
        jobs.append(("train", {**values, **model}, work / name))
    run_modules(*jobs)
    return work


def score(
    tiny: Path, model: str, tmp_path: Path, **values: str
) -> list[tuple[str, str, float, int]]:
    values |= {"model": str(tiny / model / "model"), "recommendations": str(tmp_path / "recs")}
    run_modules(("score", values, tmp_path))
    rows = read_rows(tmp_path / "recs" / "recommendations.csv")
    return [(r["user"], r["item"], float(r["prediction"]), int(r["rank"])) for r in rows]


@pytest.mark.parametrize(
    ("similarity", "a", "b", "c"),
    [
        # a: x 5, y 3 -> z = 5 S_xz + 3 S_yz, w = 3 S_yw; b: x 4, z 2; c: y 1, z 4, w 2 -> x only.
        ("jaccard", [("z", 8 / 3), ("w", 3 / 2)], [("y", 2.0), ("w", 1.0)], [("x", 5 / 3)]),
        ("lift", [("z", 2.0), ("w", 3 / 2)], [("y", 3 / 2), ("w", 1.0)], [("x", 5 / 4)]),
        ("cooccurrence", [("z", 8.0), ("w", 3.0)], [("y", 6.0), ("w", 2.0)], [("x", 5.0)]),
    ],
)
def test_sar_scores_match_hand_computation(
    tiny: Path,
    tmp_path: Path,
    similarity: str,
    a: list[tuple[str, float]],
    b: list[tuple[str, float]],
    c: list[tuple[str, float]],
) -> None:
    rows = score(tiny, similarity, tmp_path)  # no dataset to score: every user
    expected = [
        (user, item, pytest.approx(value, rel=1e-9), rank)
        for user, items in (("a", a), ("b", b), ("c", c))
        for rank, (item, value) in enumerate(items, start=1)
    ]
    assert rows == expected
    model = json.loads((tiny / similarity / "model" / "sar_model.json").read_text())
    assert (model["users"], model["items"]) == (["a", "b", "c"], ["w", "x", "y", "z"])
    assert model["parameters"]["similarity"] == similarity
    assert np.load(tiny / similarity / "model" / "item_cooccurrence.npy").tolist() == COOCCURRENCE


def test_sar_time_decay_halves_a_rating_one_half_life_old(tiny: Path, tmp_path: Path) -> None:
    # a's rating of x is 30 days older than the latest rating: it weighs 5 / 2.
    rows = score(tiny, "decayed", tmp_path, top_k="1")
    assert rows[0] == ("a", "z", pytest.approx(2.5 / 3 + 3 / 3), 1)
    assert [r[0] for r in rows] == ["a", "b", "c"]  # top_k 1: one item each


def test_sar_keeps_seen_items_on_request(tiny: Path, tmp_path: Path) -> None:
    rows = score(tiny, "jaccard", tmp_path, remove_seen="False", top_k="4")
    # a: x = 5 + 3/3, y = 5/3 + 3, then the unseen z and w.
    a = [(item, value) for user, item, value, _ in rows if user == "a"]
    expected = [("x", 6.0), ("y", 14 / 3), ("z", 8 / 3), ("w", 3 / 2)]
    assert a == [(item, pytest.approx(value)) for item, value in expected]


def test_sar_support_threshold_drops_rare_pairs_and_ties_keep_item_order(
    tiny: Path, tmp_path: Path
) -> None:
    # Threshold 2: every pair (seen by one user) and w (one user) drop out, so a's unseen
    # items all score 0 and come in item order.
    rows = score(tiny, "threshold 2", tmp_path)
    a = [(item, value) for user, item, value, _ in rows if user == "a"]
    assert a == [("w", 0.0), ("z", 0.0)]


def test_score_only_known_users_of_the_dataset(tiny: Path, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.mkdir()
    (users / "ratings.csv").write_text("user,item,rating,timestamp\nb,y,1,0\nnewcomer,x,5,0\n")
    rows = score(tiny, "jaccard", tmp_path, dataset_to_score=str(users))
    assert {r[0] for r in rows} == {"b"}


# ---- the shipped files ------------------------------------------------------------------------


def test_generator_rewrites_the_shipped_data(tmp_path: Path) -> None:
    out = tmp_path / "ratings.csv"
    subprocess.run(
        [sys.executable, str(SAR / "data" / "generate.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == RATINGS.read_bytes()


def test_specs_share_sarlib_and_one_environment() -> None:
    for name in SPECS.values():
        spec_path = MODULES / name
        spec = load(spec_path)
        includes_file = spec_path.with_suffix(".additional_includes")
        if "additional_includes" in spec:
            assert spec["additional_includes"] == ["../lib/sarlib"]
        else:
            assert includes_file.read_text().split() == ["../lib/sarlib"]
        assert code_of(spec_path, spec).exists()
        assert "conda.yaml" in json.dumps(spec)  # the shared conda file, under each format's key


def test_readme_runs_every_module() -> None:
    readme = (SAR / "README.md").read_text()
    for name in SPECS.values():
        assert f"runner run samples/sar/modules/{name} " in readme
    assert "runner pipeline run samples/sar/pipeline.yml --set ratings=" in readme


def connectable(output_types: tuple[str, ...], input_types: tuple[str, ...]) -> bool:
    """Custom port types must match exactly; a folder wildcard on either side takes any folder."""
    wildcards = {"AnyDirectory", "uri_folder", "path"}
    return bool(set(output_types) & set(input_types) or wildcards & {*output_types, *input_types})


def test_pipeline_binds_declared_names() -> None:
    """Every binding in pipeline.yml names an input or output its component declares."""
    pipeline = load(SAR / "pipeline.yml")
    modules = {
        job: load_module(SAR / spec["component"]).spec for job, spec in pipeline["jobs"].items()
    }
    assert set(pipeline["jobs"]) == {"split", "train", "score", *METRICS}
    reference = re.compile(r"\$\{\{parent\.(?:inputs\.(\w+)|jobs\.(\w+)\.outputs\.(\w+))\}\}")
    for job, spec in pipeline["jobs"].items():
        for name, value in spec.get("inputs", {}).items():
            declared = modules[job].find_input(name)
            assert declared is not None, (job, name)
            match = reference.fullmatch(str(value))
            if match and match.group(1):
                assert match.group(1) in pipeline["inputs"]
            elif match:
                output = modules[match.group(2)].find_output(match.group(3))
                assert output is not None, (job, value)
                assert isinstance(declared, InputPort), (job, name)
                assert connectable(output.types, declared.types), (job, name)
        for name, value in spec.get("outputs", {}).items():
            assert modules[job].find_output(name) is not None
            assert value == f"${{{{parent.outputs.{job}}}}}"
    assert set(pipeline["outputs"]) == set(METRICS)


def test_pipeline_dsl_builds_the_graph_of_pipeline_yml() -> None:
    load_pipeline = pytest.importorskip("runner.pipeline.load").load_pipeline
    model = pytest.importorskip("runner.pipeline.model")
    spec = importlib.util.spec_from_file_location("sar_pipeline_dsl", SAR / "pipeline_dsl.py")
    assert spec is not None and spec.loader is not None
    dsl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dsl)

    def graph(pipeline: Any) -> tuple[set[tuple[str, str, object]], set[tuple[str, str, str]]]:
        """Steps (name and spec file), edges and outputs."""
        edges: set[tuple[str, str, object]] = set()
        for step in pipeline.steps:
            edges.add((step.name, "spec", step.module.source))
            for key, binding in step.bindings.items():
                if isinstance(binding, model.StepOutput):
                    binding = (binding.step, binding.output)
                edges.add((step.name, step.module.find_input(key).python_name, binding))
        outputs = {(o.name, o.step, o.output) for o in pipeline.outputs}
        return edges, outputs

    from_yaml = load_pipeline(SAR / "pipeline.yml")
    from_python = dsl.sar(ratings=RATINGS).pipeline
    # The same step names: one cache, one `--from train`, the same progress lines.
    assert from_python.step_names == from_yaml.step_names
    assert graph(from_python) == graph(from_yaml)
    assert from_python.inputs == from_yaml.inputs
