"""The command table: what `runner`, `--help`, `--version` and `runner X` import and print, the
help of every command and action, and unknown commands."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from runner._version import __version__
from runner.cli import main as cli
from runner.cli.parser import command_parser

# Prints the exit code, then the runner modules and whether argparse was imported.
PROBE = """\
import io, json, sys
from runner.cli.main import main
out, err = io.StringIO(), io.StringIO()
sys.stdout, sys.stderr = out, err
code = main(sys.argv[1:])
sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
mods = sorted(m for m in sys.modules if m.startswith("runner"))
print(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(), "modules": mods,
                  "argparse": "argparse" in sys.modules}))
"""


def probe(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


COMMAND_MODULES = {module for _, _, module in cli.COMMANDS}


@pytest.mark.parametrize("argv", [[], ["--help"], ["-h"], ["--version"]])
def test_the_top_level_imports_no_command_and_builds_no_parser(argv: list[str]) -> None:
    result = probe(*argv)
    modules = set(result["modules"])  # type: ignore[arg-type]
    assert not modules & COMMAND_MODULES
    assert "runner.cli.parser" not in modules and "runner.errors" not in modules
    assert result["argparse"] is False


def test_a_command_imports_its_own_module_only() -> None:
    result = probe("runs", "ls", "--runs-dir", "/nonexistent/runs")
    assert result["code"] == 0
    modules = set(result["modules"])  # type: ignore[arg-type]
    assert modules & COMMAND_MODULES == {"runner.cli.runs"}
    assert "runner.run.engine" not in modules and "runner.spec.load" not in modules


def test_bare_runner_lists_the_commands_and_exits_2() -> None:
    done = subprocess.run([sys.executable, "-m", "runner"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stdout == ""
    for name, summary, _ in cli.COMMANDS:
        assert f"  {name}" in done.stderr and summary in done.stderr
    assert "see `runner --help`" in done.stderr


def test_help_and_version_go_to_stdout_and_exit_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runner", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr == ""
    assert "commands:" in done.stdout and "examples:" in done.stdout
    assert "exit codes:" in done.stdout and "130  interrupted" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "runner", "--version"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, f"runner {__version__}\n")


def test_help_of_a_command_names_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["help"]) == 0
    assert "commands:\n  validate " in capsys.readouterr().out
    assert cli.main(["help", "run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: runner run ")
    assert "1    the module failed" in out and "2    a usage, spec or binding error" in out
    assert cli.main(["pipeline", "run", "--help"]) == 0
    assert "--from STEP" in capsys.readouterr().out


def test_unknown_commands_name_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["pipline", "run"]) == 2
    assert "unknown command 'pipline'\n  hint: did you mean pipeline?" in capsys.readouterr().err
    assert cli.main(["--frob"]) == 2
    assert "unknown option --frob" in capsys.readouterr().err


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command's parser and every action's, as `runner X` would build them."""
    import importlib

    for name, summary, module in cli.COMMANDS:
        parser = command_parser(f"runner {name}", summary)
        importlib.import_module(module).configure(parser)
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                yield from ((f"{name} {sub}", p) for sub, p in action.choices.items())


PARSERS = list(parsers())
# `pipeline show --json` comes with the pipeline page's contract (issue 13), on its own branch.
# Servers print the URL they serve, not a result.
SERVERS = {"ui", "pipeline view"}


@pytest.mark.parametrize(("name", "parser"), PARSERS, ids=[name for name, _ in PARSERS])
def test_every_help_has_examples_exit_codes_and_argument_help(
    name: str, parser: argparse.ArgumentParser
) -> None:
    text = parser.format_help()
    assert "examples:\n  runner " in text, name
    assert "exit codes:\n  0    " in text and "\n  2    " in text, name
    for action in parser._actions:
        assert action.help, f"runner {name}: {action.dest} has no help text"


def test_every_command_that_prints_a_result_has_json() -> None:
    groups = {name.split()[0] for name, _ in PARSERS if " " in name}
    for name, parser in PARSERS:
        if name in groups or name in SERVERS:
            continue  # a group prints nothing itself: its actions do
        flags = {flag for action in parser._actions for flag in action.option_strings}
        assert "--json" in flags, f"runner {name} has no --json"


@pytest.mark.parametrize(
    ("errno_", "said", "code"),
    [
        (28, "error: the disk holding /data/out is full (", 1),  # ENOSPC
        (30, "error: /data/out is not writable (a read-only file system)", 1),  # EROFS
        (13, "internal error (PermissionError)", 3),  # EACCES: may well be a bug
    ],
)
def test_a_storage_refusal_no_caller_explained_is_said_not_a_crash(
    errno_: int, said: str, code: int
) -> None:
    """The last line of defence: a full disk or a read-only file system that reaches the top
    level unexplained is the storage's refusal (exit 1), in words; other errors stay bugs."""
    import io

    from runner.cli.errors import handled

    def command() -> int:
        raise OSError(errno_, os.strerror(errno_), "/data/out/result.json")

    stderr = io.StringIO()
    assert handled(command, stderr) == code
    assert said in stderr.getvalue()
