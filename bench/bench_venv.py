"""What the venv backend costs: reusing a built environment, and building one with uv.

    python bench/bench_venv.py                   # both parts
    python bench/bench_venv.py --reuse-only      # (a) only: a few seconds

(a) A warm run's environment cost: `fingerprint` + `ensure` of a venv that exists, against
    starting one bare python process. Counts the processes started (it must be 0).
(b) Creating a venv for numpy + pandas through the backend (`uv venv --seed` + `uv pip install`)
    with uv's cache warm and with a fresh `UV_CACHE_DIR`, against `python -m venv` +
    `pip install numpy pandas` with pip's cache warm and with `--no-cache-dir`. Every build
    runs in its own child process and is timed there. All of them use the same interpreter
    and the same package sources (pip's configuration, which the backend hands to uv).

Prints medians and ratios measured in this run; asserts behaviour, never time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from runner.env.base import EnvRequest
from runner.env.store import EnvStore
from runner.env.venv import VenvBackend
from runner.spec.model import CondaDependencies, EnvironmentSpec

# Run in a child: one backend build, timed from inside (Python start-up excluded).
BUILD = """
import json, sys, time
from pathlib import Path
from runner.env.base import EnvRequest
from runner.env.store import EnvStore
from runner.env.venv import VenvBackend
from runner.spec.model import EnvironmentSpec

request = EnvRequest(EnvironmentSpec(pip_requirements=tuple(sys.argv[2:])), Path("bench.yaml"))
started = time.perf_counter()
runtime = VenvBackend().ensure(request, EnvStore(Path(sys.argv[1])), None)
print(json.dumps({"seconds": time.perf_counter() - started, "python": runtime.python}))
"""

BASELINE = """
import subprocess, sys, time
venv, *pip_args = sys.argv[1:]
started = time.perf_counter()
subprocess.run([sys.executable, "-m", "venv", venv], check=True)
created = time.perf_counter()
subprocess.run([venv + "/bin/python", "-m", "pip", "install", "-q", *pip_args], check=True)
print(created - started, time.perf_counter() - created)
"""


class ProcessCounter:
    """Counts every process started through subprocess or os while installed."""

    def __init__(self) -> None:
        self.count = 0
        self._saved: dict[tuple[object, str], object] = {}

    def __enter__(self) -> ProcessCounter:
        counter = self
        original = subprocess.Popen

        class Counting(original):  # type: ignore[misc, valid-type]
            def __init__(self, *args: object, **kwargs: object) -> None:
                counter.count += 1
                super().__init__(*args, **kwargs)

        self._patch(subprocess, "Popen", Counting)
        for name in ("fork", "posix_spawn", "posix_spawnp", "system"):
            if hasattr(os, name):
                self._patch(os, name, self._counting(getattr(os, name)))
        return self

    def _counting(self, function: Callable[..., object]) -> Callable[..., object]:
        def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return function(*args, **kwargs)

        return counted

    def _patch(self, owner: object, name: str, value: object) -> None:
        self._saved[(owner, name)] = getattr(owner, name)
        setattr(owner, name, value)

    def __exit__(self, *exc: object) -> None:
        for (owner, name), value in self._saved.items():
            setattr(owner, name, value)


def median_ms(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def reuse(root: Path, rounds: int) -> None:
    store = EnvStore(root / "envs")
    backend = VenvBackend()
    here = "python={}.{}".format(*sys.version_info[:2])
    cases = [
        ("no python pin", EnvironmentSpec(pip_requirements=("six", "tabulate"))),
        (
            f"conda {here} (memoised discovery)",
            EnvironmentSpec(conda=CondaDependencies(dependencies=(here, "six", "tabulate"))),
        ),
    ]
    bare_ms = median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 20)
    print(f"(a) reuse of a built venv: fingerprint + ensure, median of {rounds}")
    for label, spec in cases:
        request = EnvRequest(spec, Path("bench.yaml"))
        backend.ensure(request, store, None)  # built once, outside the measurement

        def warm(request: EnvRequest = request) -> None:
            backend.fingerprint(request, store)
            backend.ensure(request, store, None)

        with ProcessCounter() as counter:
            reuse_ms = median_ms(warm, rounds)
        assert counter.count == 0, f"{counter.count} processes started on the warm path"
        print(
            f"    {label:38} {reuse_ms:8.2f} ms   processes: 0   "
            f"1/{bare_ms / reuse_ms:.0f} of the baseline"
        )
    print(f"    baseline: one bare `python -c pass`    {bare_ms:8.2f} ms")


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def build(root: Path, packages: list[str], **env: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(root), *packages],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(**env),
    )
    return float(json.loads(done.stdout)["seconds"])


def baseline(root: Path, packages: list[str], *pip_args: str) -> tuple[float, float]:
    """Seconds for `python -m venv`, then for `pip install`."""
    done = subprocess.run(
        [sys.executable, "-c", BASELINE, str(root / "venv"), *pip_args, *packages],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
    )
    create, install = done.stdout.strip().splitlines()[-1].split()
    return float(create), float(install)


def creation(root: Path, packages: list[str], rounds: int) -> None:
    build(root / "warm-up", packages)  # fills uv's own cache
    baseline(root / "pip-warm-up", packages)  # and pip's
    uv_warm, uv_cold, pip_warm, pip_cold = [], [], [], []
    for i in range(rounds):
        uv_warm.append(build(root / f"warm-{i}", packages))
        cold_cache = str(root / f"uv-cache-{i}")
        uv_cold.append(build(root / f"cold-{i}", packages, UV_CACHE_DIR=cold_cache))
        pip_warm.append(baseline(root / f"pip-warm-{i}", packages))
        pip_cold.append(baseline(root / f"pip-cold-{i}", packages, "--no-cache-dir"))
    median = statistics.median
    rows = [
        ("uv, warm cache (~/.cache/uv holds the wheels)", median(uv_warm)),
        ("uv, cold cache (fresh UV_CACHE_DIR)", median(uv_cold)),
        ("python -m venv + pip install, warm pip cache", median(sum(t) for t in pip_warm)),
        ("  of which python -m venv", median(t[0] for t in pip_warm)),
        ("python -m venv + pip install --no-cache-dir", median(sum(t) for t in pip_cold)),
        ("  of which python -m venv", median(t[0] for t in pip_cold)),
    ]
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"(b) first creation: {' + '.join(packages)} on python {version}, median of {rounds}")
    for label, seconds in rows:
        print(f"    {label:48} {seconds:7.2f} s")
    print(f"    warm caches: uv is {rows[2][1] / rows[0][1]:.1f}x faster than venv + pip")
    print(f"    cold caches: uv is {rows[4][1] / rows[1][1]:.1f}x faster than venv + pip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--packages", nargs="+", default=["numpy", "pandas"])
    parser.add_argument("--build-rounds", type=int, default=1, help="rounds of (b)")
    parser.add_argument("--reuse-only", action="store_true")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default $TMPDIR)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-venv-", dir=args.dir))
    try:
        reuse(root / "reuse", args.rounds)
        if not args.reuse_only:
            creation(root / "create", args.packages, args.build_rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
