"""What resolving a registered name (`azureml:NAME`) adds to a run, next to the same spec file.

    python bench/bench_registry.py               # 40 rounds
    python bench/bench_registry.py --rounds 100

The same trivial module, run from its spec file and by its registered name (its default
version), each a cache hit: (a) whole `runner run` processes, alternating file and name so that
machine load hits both alike; (b) in-process, just `load_module_spec` of the file against the
name (what the name adds: the catalogue query, the checkout check, loading the checkout's spec);
(c) the first `load_module_spec` of a fresh process that has imported what `runner run` imports,
so the registry's own imports count too, without the noise of starting whole processes.
Bytecode is written and used (PYTHONDONTWRITEBYTECODE is dropped), as for users. Prints medians
and ratios measured in this run; asserts behaviour (both are hits with the same cache key),
never time. The target: the name adds at most 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SPEC = """\
$schema: http://azureml/sdk-2-0/CommandComponent.json
type: CommandComponent
name: trivial
version: 1.0.0
inputs:
  salt: {type: Integer, default: 0}
outputs:
  out: {type: AnyDirectory}
command: >-
  python -c "import sys; open(sys.argv[1] + '/done', 'w').write(sys.argv[2])"
  {outputs.out} {inputs.salt}
"""


def timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the scratch files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env |= {
            "RUNNER_CACHE_DIR": str(root / "cache"),
            "RUNNER_RUNS_DIR": str(root / "runs"),
            "RUNNER_REGISTRY": str(root / "registry"),
        }
        os.environ.update(env)  # this script's own process only: the in-process part reads it
        spec = root / "module" / "trivial.yaml"
        spec.parent.mkdir()
        spec.write_text(SPEC)

        def runner(*argv: str) -> dict[str, object]:
            done = subprocess.run(
                [sys.executable, "-m", "runner", *argv], env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr
            parsed: dict[str, object] = json.loads(done.stdout)
            return parsed

        runner("module", "register", str(spec), "--json")
        by_file = runner("run", str(spec), "--quiet", "--json")
        by_name = runner("run", "azureml:trivial", "--quiet", "--json")
        assert by_name["cache_key"] == by_file["cache_key"], "the name must hit the file's entry"
        assert by_name["cached"] is True

        file_ms: list[float] = []
        name_ms: list[float] = []
        for _ in range(args.rounds):
            file_ms.append(timed_ms(lambda: runner("run", str(spec), "--quiet", "--json")))
            name_ms.append(timed_ms(lambda: runner("run", "azureml:trivial", "--quiet", "--json")))

        from runner.registry.resolve import load_module_spec

        first_file = [_first_load(str(spec), env) for _ in range(args.rounds)]
        first_name = [_first_load("azureml:trivial", env) for _ in range(args.rounds)]

        load_file: list[float] = []
        load_name: list[float] = []
        for _ in range(args.rounds * 5):
            load_file.append(timed_ms(lambda: load_module_spec(spec)))
            load_name.append(timed_ms(lambda: load_module_spec("azureml:trivial")))

    whole_file, whole_name = statistics.median(file_ms), statistics.median(name_ms)
    load_f, load_n = statistics.median(load_file), statistics.median(load_name)
    cold_f, cold_n = statistics.median(first_file), statistics.median(first_name)
    print("PYTHONDONTWRITEBYTECODE unset for the runs (bytecode written and used, as for users)")
    fastest_file, fastest_name = min(file_ms), min(name_ms)
    print(f"(a) whole `runner run` process, cache hit, {args.rounds} rounds (alternating):")
    print(
        f"  spec file                    {whole_file:8.1f} ms median   {fastest_file:8.1f} ms min"
    )
    print(
        f"  azureml:trivial              {whole_name:8.1f} ms median   {fastest_name:8.1f} ms min"
    )
    added, ratio = whole_name - whole_file, whole_name / whole_file
    added_min, ratio_min = fastest_name - fastest_file, fastest_name / fastest_file
    print(
        f"  added by the name            {added:+8.1f} ms ({ratio:.3f}x)"
        f"   {added_min:+8.1f} ms ({ratio_min:.3f}x)"
    )
    print(f"(b) in-process load_module_spec, median of {args.rounds * 5}:")
    print(f"  spec file                    {load_f:8.2f} ms")
    print(
        f"  azureml:trivial              {load_n:8.2f} ms   "
        f"added {load_n - load_f:+.2f} ms ({load_n / load_f:.2f}x)"
    )
    print(
        f"(c) first load_module_spec of a fresh process, imports included, median of {args.rounds}:"
    )
    print(f"  spec file                    {cold_f:8.2f} ms")
    print(
        f"  azureml:trivial              {cold_n:8.2f} ms   "
        f"added {cold_n - cold_f:+.2f} ms ({cold_n / cold_f:.2f}x)"
    )


_FIRST_LOAD = """
import sys, time
import runner.cli.run  # what `runner run` has imported before it resolves its SPEC
from runner.registry.resolve import load_module_spec
started = time.perf_counter()
load_module_spec(sys.argv[1])
print((time.perf_counter() - started) * 1000)
"""


def _first_load(ref: str, env: dict[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_LOAD, ref], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return float(done.stdout)


if __name__ == "__main__":
    main()
