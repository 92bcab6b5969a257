"""Per-step overhead of running a trivial command in a container: runner against `docker run`.

    python bench/bench_docker.py                     # runner-test/bookworm-python:1, 10 rounds
    python bench/bench_docker.py --image IMAGE --rounds 20

Measures, median of N, the same `true` command:
  - by hand: `docker run --rm IMAGE true` (the CLI: create, attach, start, wait, remove);
  - `run_container` (runner's container step: the same calls through the SDK, plus docker's
    init as PID 1, the timestamped log and the removal check);
  - a whole module run through runner's API with the docker backend and the cache off
    (environment resolution, snapshot, run folder, run.json: what one step of a pipeline pays);
  - `DockerBackend.ensure` for an image used as is (the warm environment check).
Prints milliseconds and ratios against the by-hand run; asserts behaviour, never time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import runner
from runner.env.base import EnvRequest
from runner.env.container import ContainerInvocation, run_container
from runner.env.docker import DockerBackend
from runner.env.store import EnvStore
from runner.spec.model import EnvironmentSpec

SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: trivial
version: 1
environment:
  image: {image}
command: "true"
"""


def median_ms(action: Callable[[int], object], rounds: int) -> float:
    action(-1)  # warm-up: connection pools, page cache, the engine's own caches
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="runner-test/bookworm-python:1")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    image: str = args.image

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        by_hand = median_ms(
            lambda i: subprocess.run(
                ["docker", "run", "--rm", image, "true"], check=True, capture_output=True
            ),
            args.rounds,
        )

        def step(i: int) -> None:
            log = root / f"step-{i}.log"
            outcome = run_container(ContainerInvocation(image=image, argv=("true",), log_path=log))
            assert outcome.exit_code == 0, log.read_text()

        contained = median_ms(step, args.rounds)

        store = EnvStore(root / "envs")
        request = EnvRequest(spec=EnvironmentSpec(image=image), source=root / "m.yaml")
        ensure = median_ms(lambda i: DockerBackend().ensure(request, store, None), args.rounds)

        os.environ["RUNNER_CACHE_DIR"] = str(root / "cache")
        os.environ["RUNNER_RUNS_DIR"] = str(root / "runs")
        os.environ["RUNNER_ENV"] = "docker"
        spec = root / "module" / "trivial.yaml"
        spec.parent.mkdir()
        spec.write_text(SPEC.format(image=image))
        module = runner.load_module(spec)
        whole: float | None = None
        try:

            def run(i: int) -> None:
                result = module.run(quiet=True, cache=False)
                assert result.ok, result.message

            whole = median_ms(run, args.rounds)
        except Exception as exc:  # the engine integration may not be there yet
            print(f"(a run through runner failed: {exc})", file=sys.stderr)

    print(f"`true` in {image}, median of {args.rounds}:")
    print(f"  docker run --rm (CLI, by hand)      {by_hand:8.1f} ms   1.00x")
    print(f"  run_container                       {contained:8.1f} ms   {contained / by_hand:.2f}x")
    if whole is not None:
        print(f"  module run through runner, no cache {whole:8.1f} ms   {whole / by_hand:.2f}x")
    print(f"  DockerBackend.ensure (image as is)  {ensure:8.1f} ms")


if __name__ == "__main__":
    main()
