"""What the commands share: flags, NAME=VALUE pairs, abbreviated keys, spec warnings."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypedDict, TypeVar

from runner.config import ENV_CHOICES
from runner.errors import UsageError, quote

if TYPE_CHECKING:
    from runner.registry.lookup import Purpose
    from runner.spec.model import ModuleSpec

MIN_PREFIX = 4
T = TypeVar("T")


def pairs(raw: Sequence[str] | None, flag: str) -> dict[str, str]:
    """`-i NAME=VALUE` / `--set NAME=VALUE` pairs; the value may itself contain `=`."""
    found: dict[str, str] = {}
    for item in raw or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(
                f"{flag} {quote(item)}: expected NAME=VALUE", f"e.g. {flag} ratio=0.75"
            )
        if name in found:
            raise UsageError(f"{flag} {quote(name)} is given twice")
        found[name] = value
    return found


def load_spec_warned(
    args: argparse.Namespace, stderr: TextIO, *, purpose: Purpose = "inspect"
) -> ModuleSpec:
    """The module `args.spec` names (a spec file or a registered name, in `args.registry`),
    its warnings printed (they are data, not Python warnings). `purpose="run"`: a disabled
    registered version is refused."""
    from runner.registry.resolve import load_module_spec  # not for the commands that read none

    spec = load_module_spec(args.spec, registry=args.registry, purpose=purpose)
    for warning in spec.warnings:
        print(f"warning: {warning}", file=stderr)
    return spec


def add_spec_argument(parser: argparse.ArgumentParser) -> None:
    """SPEC, and the registry it may name a module of."""
    parser.add_argument(
        "spec",
        metavar="SPEC",
        help="a module spec file (legacy, component 2.0 or CLI v2 YAML), or a registered"
        " module: NAME, NAME@VERSION, NAME@latest",
    )
    add_registry_flag(parser)


def add_registry_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        type=Path,
        metavar="DIR",
        help="the module registry (default $RUNNER_REGISTRY, else ~/.local/share/runner/registry)",
    )


def add_binding_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i",
        "--input",
        action="append",
        metavar="NAME=VALUE",
        help="bind an input port (a path) or a parameter, by original or python name",
    )
    parser.add_argument(
        "-o", "--output", action="append", metavar="NAME=PATH", help="place an output at PATH"
    )


def add_cache_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="the cache (default $RUNNER_CACHE_DIR or ~/.cache/runner)",
    )
    parser.add_argument(
        "--cache-read-only",
        action="store_true",
        help="use the cache as it is: serve hits, store nothing (also RUNNER_CACHE_READ_ONLY=1)",
    )


def add_env_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        choices=ENV_CHOICES,
        help="where the command runs (default: RUNNER_ENV, the config file, else auto)",
    )
    parser.add_argument("--python", metavar="PY", help="host: the interpreter `python` means")
    parser.add_argument(
        "--strict-python",
        action="store_true",
        default=None,
        help="venv: refuse an interpreter other than the pinned python version",
    )
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="FILE",
        help="CA bundle for package downloads (default: RUNNER_CA_BUNDLE, PIP_CERT, ...)",
    )


if TYPE_CHECKING:  # at run time, typing would compile() its string annotations: about 1 ms

    class EnvironmentOptions(TypedDict):
        """The RunOptions fields that the environment and cache flags set."""

        python: str | None
        cache_dir: Path | None
        cache_read_only: bool
        env: str | None
        ca_bundle: Path | None
        strict_python: bool | None


def environment_options(args: argparse.Namespace) -> EnvironmentOptions:
    return {
        "python": args.python,
        "cache_dir": args.cache_dir,
        "cache_read_only": args.cache_read_only,
        "env": args.env,
        "ca_bundle": args.ca_bundle,
        "strict_python": args.strict_python,
    }


def find_by_prefix(
    items: Iterable[T], key: Callable[[T], str], given: str, what: str, listing: str
) -> T:
    """The one item whose key starts with `given` (as git abbreviates commits)."""
    if len(given) < MIN_PREFIX:
        raise UsageError(
            f"{what} {quote(given)} is too short: give at least {MIN_PREFIX} characters"
        )
    matches = [item for item in items if key(item).startswith(given.lower())]
    if not matches:
        raise UsageError(f"no {what} matches {quote(given)}", f"`{listing}` lists them")
    if len(matches) > 1:
        raise UsageError(f"{quote(given)} matches {len(matches)} of them: give more characters")
    return matches[0]
