"""`runner module register | list | show | set-default | disable | enable | download`: the
local module registry (runner.registry)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from runner.cli.common import add_registry_flag
from runner.cli.output import emit_json, table
from runner.cli.parser import action, actions, add_json, describe
from runner.cli.show import interface_text
from runner.errors import EXIT_OK, EXIT_USAGE
from runner.registry.base import Registry
from runner.registry.lookup import open_version, quoted
from runner.registry.manage import (
    ModuleInfo,
    download,
    list_modules,
    module_info,
    set_default,
    set_enabled,
    version_json,
)
from runner.registry.names import parse_reference
from runner.registry.register import Outcome, Registered, Request, register, register_all
from runner.registry.sources import describe as origin
from runner.spec.interface import interface

SAR = "samples/sar/modules"
TRAIN = "samples.sar.train"
CHANGE_EXITS = [
    (0, "done (or nothing to do)"),
    (2, "unknown name or version, or the registry is not writable; nothing changed"),
]


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, [f"runner module register --recursive {SAR}", "runner module list"])
    group = actions(parser)
    _configure_register(group)
    listing = action(
        group,
        "list",
        "registered modules: default version, versions, status, source",
        _list,
        ["runner module list", "runner module list --all --namespace samples/sar --json"],
    )
    listing.add_argument("--all", action="store_true", help="also disabled modules and versions")
    listing.add_argument("--namespace", metavar="NS", help="only the modules of namespace NS")
    show = action(
        group,
        "show",
        "a registered version: interface, source, snapshot digest, default, status",
        _show,
        [f"runner module show {TRAIN}", f"runner module show {TRAIN}@0.1.0 --json"],
        [(0, "shown"), (2, "no such module or version")],
    )
    show.add_argument("ref", metavar="NAME[@VERSION]", help="a module (default: its default)")
    default = action(
        group,
        "set-default",
        "the version used when none is named",
        _set_default,
        [f"runner module set-default {TRAIN} 0.2.0"],
        CHANGE_EXITS,
    )
    default.add_argument("name", metavar="NAME", help="a registered module")
    default.add_argument("version", metavar="VERSION", help="one of its enabled versions")
    for name, summary, handler in (
        ("disable", "stop a module (or one version) from starting new runs", _disable),
        ("enable", "let a disabled module (or version) run again", _enable),
    ):
        switch = action(
            group, name, summary, handler, [f"runner module {name} {TRAIN}@0.1.0"], CHANGE_EXITS
        )
        switch.add_argument(
            "ref", metavar="NAME[@VERSION]", help="a version, or every version of a module"
        )
    get = action(
        group,
        "download",
        "write a version's spec and snapshot to DIR (runnable there, same cache key)",
        _download,
        [
            f"runner module download {TRAIN}@0.1.0 /tmp/train",
            "runner run /tmp/train/sar_train.yaml -i train_data=...   # the same cache key",
        ],
        [(0, "written"), (2, "no such module or version, or DIR is not a new or empty folder")],
    )
    get.add_argument("ref", metavar="NAME[@VERSION]", help="a module (default: its default)")
    get.add_argument("dir", type=Path, metavar="DIR", help="a new or empty folder")
    for sub in group.choices.values():
        add_json(sub)
        add_registry_flag(sub)


def _configure_register(group: Any) -> None:
    register = action(
        group,
        "register",
        "register a module from a spec, a folder, a .zip package or a git repository",
        _register,
        [
            f"runner module register {SAR}/sar_train.yaml",
            "runner module register build/module.zip --subdir module",
            "runner module register https://host/repo.git --ref v1.2 --subdir modules/train",
            f"runner module register --recursive {SAR} --pattern '*.yaml'",
        ],
        [
            (0, "registered (or already registered with the same content)"),
            (1, "the disk holding the registry is full; nothing registered"),
            (2, "a spec, source or version conflict error (with --recursive: any spec failed)"),
        ],
    )
    register.add_argument(
        "source", metavar="SOURCE", help="a spec file, a folder, a .zip, or a git URL or path"
    )
    register.add_argument("--spec-file", metavar="PATH", help="the spec inside SOURCE")
    register.add_argument("--set-default", action="store_true", help="make it the default")
    register.add_argument("--ref", metavar="REF", help="git: the branch, tag or commit")
    register.add_argument("--subdir", metavar="DIR", help="the folder inside SOURCE to use")
    register.add_argument(
        "--recursive", action="store_true", help="register every module spec under SOURCE"
    )
    register.add_argument("--pattern", metavar="GLOB", help="--recursive: the spec files to take")


def _open(args: argparse.Namespace) -> Registry:
    writes = args.action in ("register", "set-default", "disable", "enable")
    return Registry.open(args.registry, writable=writes)


def _register(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    request = Request(
        args.source, args.spec_file, args.ref, args.subdir, args.set_default, args.pattern
    )
    with _open(args) as registry:
        if not args.recursive:
            if args.pattern is not None:
                print("warning: --pattern applies to --recursive only; ignored", file=stderr)
            done = register(registry, request)
            _warn(done, stderr)
            if args.json:
                emit_json(stdout, done.to_json())
            else:
                print(_registered_line(done), file=stdout)
            return EXIT_OK
        if args.spec_file is not None:
            print("warning: --spec-file does not apply to --recursive; ignored", file=stderr)
        outcomes = register_all(registry, request)
    for outcome in outcomes:
        if outcome.registered is not None:
            _warn(outcome.registered, stderr)
    counts = _counts(outcomes)
    if args.json:
        emit_json(stdout, {**counts, "specs": [o.to_json() for o in outcomes]})
    else:
        for line in _batch_lines(outcomes):
            print(line, file=stdout)
        labels = {"skipped": "skipped (not module specs)"}
        said = ", ".join(f"{count} {labels.get(what, what)}" for what, count in counts.items())
        print(said, file=stdout)
    return EXIT_USAGE if counts["failed"] else EXIT_OK


def _warn(done: Registered, stderr: TextIO) -> None:
    for warning in done.warnings:
        print(f"warning: {done.name} {done.version}: {warning}", file=stderr)


def _registered_line(done: Registered) -> str:
    default = " (default version)" if done.default else ""
    if done.status == "unchanged":
        return (
            f"unchanged: {done.name} {done.version}{default} is already registered with this"
            " content; nothing to do"
        )
    return f"registered {done.name} {done.version}{default} from {origin(done.source)}"


def _batch_lines(outcomes: list[Outcome]) -> list[str]:
    lines: list[str] = []
    for outcome in outcomes:
        if outcome.registered is not None:
            lines.append(f"{outcome.spec}: {_registered_line(outcome.registered)}")
        elif outcome.error is not None:
            lines.append(f"{outcome.spec}: failed: {outcome.error}")
    return lines


def _counts(outcomes: list[Outcome]) -> dict[str, int]:
    done = [o.registered for o in outcomes if o.registered is not None]
    return {
        "registered": sum(1 for d in done if d.status != "unchanged"),
        "unchanged": sum(1 for d in done if d.status == "unchanged"),
        "failed": sum(1 for o in outcomes if o.error is not None),
        "skipped": sum(1 for o in outcomes if o.skipped is not None),
    }


def _list(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with _open(args) as registry:
        modules = list_modules(registry, include_disabled=args.all, namespace=args.namespace)
        if args.json:
            emit_json(
                stdout, {"registry": str(registry.root), "modules": [m.to_json() for m in modules]}
            )
        elif not modules:
            print(f"no modules registered in {registry.root}", file=stdout)
        else:
            headers = ("NAME", "DEFAULT", "VERSIONS", "STATUS", "SOURCE")
            print(table(headers, [_list_row(info) for info in modules]), file=stdout)
    return EXIT_OK


def _list_row(info: ModuleInfo) -> tuple[str, str, str, str, str]:
    default = info.default()
    return (
        info.name,
        info.default_version,
        _versions(info),
        info.status,
        origin(default.source) if default else "?",
    )


def _versions(info: ModuleInfo) -> str:
    return ", ".join(
        v.version + ("" if v.enabled else " (disabled)") for v in info.sorted_versions()
    )


def _show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with _open(args) as registry:
        row, spec = open_version(registry, args.ref, "inspect")
        info = module_info(registry, row.module)
    registered = version_json(info, row)
    if args.json:
        versions = [v.version for v in info.sorted_versions()]
        emit_json(stdout, {**interface(spec), "registered": registered, "versions": versions})
        return EXIT_OK
    default = " (default)" if registered["default"] else ""
    lines = [
        interface_text(spec),
        "registered:",
        f"  name:        {row.module}",
        f"  version:     {row.version}{default}",
        f"  status:      {registered['status']}",
        f"  registered:  {row.registered_at}",
        f"  source:      {registered['source_text']}",
        f"  snapshot:    {row.snapshot}",
        f"  bundle:      {row.digest} ({spec.source.parent})",
        f"  versions:    {_versions(info)}",
    ]
    print("\n".join(lines), file=stdout)
    return EXIT_OK


def _set_default(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with _open(args) as registry:
        info = set_default(registry, args.name, args.version)
    if args.json:
        emit_json(stdout, info.to_json())
    else:
        print(f"{info.name}: the default version is now {info.default_version}", file=stdout)
    return EXIT_OK


def _enable(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    return _switch(args, stdout, stderr, enabled=True)


def _disable(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    return _switch(args, stdout, stderr, enabled=False)


def _switch(args: argparse.Namespace, stdout: TextIO, stderr: TextIO, *, enabled: bool) -> int:
    with _open(args) as registry:
        info, changed = set_enabled(registry, args.ref, enabled)
    state = "enabled" if enabled else "disabled"
    default = info.default()
    if not enabled and default is not None and not default.enabled:
        name = quoted(info.name)
        print(
            f"warning: the default version of {info.name} ({default.version}) is disabled:"
            f" `{name}` cannot run until another is set (runner module set-default {name} VERSION)",
            file=stderr,
        )
    if args.json:
        emit_json(stdout, {**info.to_json(), "changed": changed})
    elif changed:
        versions = f"version{'s' if len(changed) > 1 else ''} {', '.join(changed)}"
        print(f"{info.name}: {state} {versions}", file=stdout)
    else:
        print(f"{info.name}: nothing to do, {parse_reference(args.ref)} was {state}", file=stdout)
    return EXIT_OK


def _download(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with _open(args) as registry:
        row, spec = download(registry, args.ref, args.dir)
    if args.json:
        emit_json(
            stdout,
            {
                "name": row.module,
                "version": row.version,
                "dir": str(spec.parent),
                "spec": str(spec),
            },
        )
    else:
        print(f"downloaded {row.module} {row.version} to {spec.parent}", file=stdout)
        print(f"  run it with: runner run {spec}", file=stdout)
    return EXIT_OK
