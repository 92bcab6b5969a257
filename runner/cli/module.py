"""`runner module register | list | show | set-default | disable | enable | download`: the
local module registry (runner.registry).

The registry is imported when a module command runs, not when the parser is built: every other
command builds this parser too."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from runner.cli.common import add_registry_flag, emit
from runner.errors import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from runner.registry.base import Registry
    from runner.registry.manage import ModuleInfo
    from runner.registry.register import Outcome, Registered


def add_module_commands(commands: Any) -> None:
    module = commands.add_parser("module", help="register, list and manage modules")
    actions = module.add_subparsers(dest="module_command", metavar="ACTION")
    actions.required = True
    reg = actions.add_parser(
        "register", help="register a module from a spec, a folder, a .zip or a git repository"
    )
    reg.add_argument("source", metavar="SOURCE", help="spec file, folder, .zip, or git URL/path")
    reg.add_argument("--spec-file", metavar="PATH", help="the spec inside SOURCE")
    reg.add_argument("--set-default", action="store_true", help="make it the default version")
    reg.add_argument("--ref", metavar="REF", help="git: the branch, tag or commit to register")
    reg.add_argument("--subdir", metavar="DIR", help="the folder inside SOURCE to look in")
    reg.add_argument("--recursive", action="store_true", help="register every spec under SOURCE")
    reg.add_argument("--pattern", metavar="GLOB", help="--recursive: spec files to take")
    listing = actions.add_parser("list", help="registered modules and their versions")
    listing.add_argument("--all", action="store_true", help="also disabled modules and versions")
    listing.add_argument("--namespace", metavar="NS", help="only modules of this namespace")
    show = actions.add_parser("show", help="a registered version: interface, source, status")
    show.add_argument("ref", metavar="NAME[@VERSION]")
    default = actions.add_parser("set-default", help="the version used when none is named")
    default.add_argument("name", metavar="NAME")
    default.add_argument("version", metavar="VERSION")
    disable = actions.add_parser("disable", help="stop a module (or one version) starting runs")
    enable = actions.add_parser("enable", help="let a disabled module or version run again")
    for parser in (disable, enable):
        parser.add_argument("ref", metavar="NAME[@VERSION]")
    get = actions.add_parser("download", help="write a version's spec and snapshot to DIR")
    get.add_argument("ref", metavar="NAME[@VERSION]")
    get.add_argument("dir", type=Path, metavar="DIR")
    for parser in (reg, listing, show, default, disable, enable, get):
        parser.add_argument("--json", action="store_true", help="print JSON")
        add_registry_flag(parser)


def run_module_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.registry.base import Registry

    writes = args.module_command in ("register", "set-default", "disable", "enable")
    with Registry.open(args.registry, writable=writes) as registry:
        return _ACTIONS[args.module_command](registry, args, stdout, stderr)


def _register(registry: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.registry.register import Request, register, register_all

    request = Request(
        args.source, args.spec_file, args.ref, args.subdir, args.set_default, args.pattern
    )
    if not args.recursive:
        if args.pattern is not None:
            print("warning: --pattern applies to --recursive only; ignored", file=stderr)
        done = register(registry, request)
        _warn(done, stderr)
        emit(args, stdout, done.to_json(), [_registered_line(done)])
        return EXIT_OK
    if args.spec_file is not None:
        print("warning: --spec-file does not apply to --recursive; ignored", file=stderr)
    outcomes = register_all(registry, request)
    for outcome in outcomes:
        if outcome.registered is not None:
            _warn(outcome.registered, stderr)
    emit(args, stdout, [o.to_json() for o in outcomes], _batch_lines(outcomes))
    return EXIT_USAGE if any(o.error is not None for o in outcomes) else EXIT_OK


def _warn(done: Registered, stderr: TextIO) -> None:
    for warning in done.warnings:
        print(f"warning: {done.name} {done.version}: {warning}", file=stderr)


def _registered_line(done: Registered) -> str:
    from runner.registry.sources import describe

    default = " (default version)" if done.default else ""
    if done.status == "unchanged":
        return (
            f"unchanged: {done.name} {done.version}{default} is already registered with this"
            " content; nothing to do"
        )
    return f"registered {done.name} {done.version}{default} from {describe(done.source)}"


def _batch_lines(outcomes: list[Outcome]) -> list[str]:
    lines: list[str] = []
    for outcome in outcomes:
        if outcome.registered is not None:
            lines.append(f"{outcome.spec}: {_registered_line(outcome.registered)}")
        elif outcome.error is not None:
            lines.append(f"{outcome.spec}: failed: {outcome.error}")
    counts = {
        "registered": sum(
            1 for o in outcomes if o.registered and o.registered.status != "unchanged"
        ),
        "unchanged": sum(
            1 for o in outcomes if o.registered and o.registered.status == "unchanged"
        ),
        "failed": sum(1 for o in outcomes if o.error is not None),
        "skipped (not module specs)": sum(1 for o in outcomes if o.skipped is not None),
    }
    lines.append(", ".join(f"{count} {what}" for what, count in counts.items()))
    return lines


def _list(registry: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.registry.manage import list_modules

    modules = list_modules(registry, include_disabled=args.all, namespace=args.namespace)
    if not modules and not args.json:
        print(f"no modules registered in {registry.root}", file=stdout)
        return EXIT_OK
    rows = [("NAME", "DEFAULT", "VERSIONS", "STATUS", "SOURCE")]
    rows += [_list_row(info) for info in modules]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join([*(r[i].ljust(widths[i]) for i in range(4)), r[4]]) for r in rows]
    emit(args, stdout, [info.to_json() for info in modules], lines)
    return EXIT_OK


def _list_row(info: ModuleInfo) -> tuple[str, str, str, str, str]:
    from runner.registry.sources import describe

    versions = ", ".join(
        v.version + ("" if v.enabled else " (disabled)") for v in info.sorted_versions()
    )
    default = info.default()
    source = describe(default.source) if default else "?"
    return (info.name, info.default_version, versions, info.status, source)


def _show(registry: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.cli.show import interface, interface_text
    from runner.registry.lookup import open_version
    from runner.registry.manage import module_info, version_json

    row, spec = open_version(registry, args.ref, "inspect")
    info = module_info(registry, row.module)
    registered = version_json(info, row)
    others = [v.version + ("" if v.enabled else " (disabled)") for v in info.sorted_versions()]
    if args.json:
        data = {**interface(spec), "registered": registered, "versions": others}
        emit(args, stdout, data, [])
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
        f"  versions:    {', '.join(others)}",
    ]
    emit(args, stdout, None, lines)
    return EXIT_OK


def _set_default(
    registry: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO
) -> int:
    from runner.registry.manage import set_default

    info = set_default(registry, args.name, args.version)
    line = f"{info.name}: the default version is now {info.default_version}"
    emit(args, stdout, info.to_json(), [line])
    return EXIT_OK


def _enable(registry: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    return _switch(registry, args, stdout, stderr, enabled=True)


def _disable(registry: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    return _switch(registry, args, stdout, stderr, enabled=False)


def _switch(
    registry: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO, *, enabled: bool
) -> int:
    from runner.registry.lookup import quoted
    from runner.registry.manage import set_enabled
    from runner.registry.names import parse_reference

    info, changed = set_enabled(registry, args.ref, enabled)
    state = "enabled" if enabled else "disabled"
    if changed:
        line = f"{info.name}: {state} version{'s' if len(changed) > 1 else ''} {', '.join(changed)}"
    else:
        line = f"{info.name}: nothing to do, {parse_reference(args.ref)} was {state} already"
    default = info.default()
    if not enabled and default is not None and not default.enabled:
        print(
            f"warning: the default version of {info.name} ({default.version}) is disabled:"
            f" `{quoted(info.name)}` cannot run until another is set"
            f" (runner module set-default {quoted(info.name)} VERSION)",
            file=stderr,
        )
    data = {**info.to_json(), "changed": changed}
    emit(args, stdout, data, [line])
    return EXIT_OK


def _download(registry: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from runner.registry.manage import download

    row, spec = download(registry, args.ref, args.dir)
    lines = [
        f"downloaded {row.module} {row.version} to {spec.parent}",
        f"  run it with: runner run {spec}",
    ]
    data = {"name": row.module, "version": row.version, "dir": str(spec.parent), "spec": str(spec)}
    emit(args, stdout, data, lines)
    return EXIT_OK


_ACTIONS: dict[str, Callable[[Registry, argparse.Namespace, TextIO, TextIO], int]] = {
    "register": _register,
    "list": _list,
    "show": _show,
    "set-default": _set_default,
    "disable": _disable,
    "enable": _enable,
    "download": _download,
}
