"""`runner datatype register | list | show`: the port data types modules may use."""

from __future__ import annotations

import argparse
from typing import TextIO

from runner.cli.common import add_registry_flag
from runner.cli.output import emit_json, table
from runner.cli.parser import action, actions, add_json, describe
from runner.errors import EXIT_OK
from runner.registry import datatypes
from runner.registry.base import Registry
from runner.registry.datatypes import DataTypeInfo
from runner.registry.porttypes import BUILT_IN

EXAMPLE = "runner datatype register DataFrameDirectory --parent AnyDirectory"


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, [EXAMPLE, "runner datatype list"])
    group = actions(parser)
    register = action(
        group,
        "register",
        "register a data type modules may use for their ports",
        _register,
        [EXAMPLE, "runner datatype register CsvFile --parent AnyFile --description 'a CSV file'"],
        [
            (0, "registered (or already registered the same way)"),
            (2, "a bad name (with '<' or '>', built in), an unknown parent, or a conflict"),
        ],
    )
    register.add_argument("name", metavar="NAME", help="the type's name (no '<' or '>')")
    register.add_argument("--description", default="", metavar="TEXT", help="what it holds")
    register.add_argument(
        "--parent",
        metavar="TYPE",
        help="a type this one feeds and takes the kind (file or folder) of",
    )
    action(
        group,
        "list",
        "the built-in and registered data types",
        _list,
        ["runner datatype list", "runner datatype list --json | jq -r '.datatypes[].name'"],
    )
    show = action(
        group,
        "show",
        "one data type: its parent, ancestors and what it takes",
        _show,
        ["runner datatype show DataFrameDirectory"],
        [(0, "shown"), (2, "no such data type (close matches are named)")],
    )
    show.add_argument("name", metavar="NAME", help="a built-in or registered data type")
    for sub in group.choices.values():
        add_json(sub)
        add_registry_flag(sub)


def _register(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with Registry.open(args.registry, writable=True) as registry:
        found, new = datatypes.register(
            registry.catalogue, args.name, args.description, args.parent
        )
    if args.json:
        emit_json(stdout, {**found.to_json(), "new": new})
    else:
        said = "registered" if new else "unchanged: already registered:"
        print(f"{said} {_line(found)}", file=stdout)
    return EXIT_OK


def _list(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with Registry.open(args.registry) as registry:
        registered = datatypes.registered_types(registry.catalogue)
    known = [datatypes.info(name, registered) for name in BUILT_IN]
    known += [datatypes.info(row.name, registered) for row in registered.values()]
    if args.json:
        emit_json(stdout, {"datatypes": [item.to_json() for item in known]})
    else:
        rows = [(t.name, _takes(t), _origin(t), t.description) for t in known]
        print(table(("NAME", "TAKES", "FROM", "DESCRIPTION"), rows), file=stdout)
    return EXIT_OK


def _show(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    with Registry.open(args.registry) as registry:
        found = datatypes.info(args.name, datatypes.registered_types(registry.catalogue))
    if args.json:
        emit_json(stdout, found.to_json())
        return EXIT_OK
    lines = [
        f"name:        {found.name}",
        f"built in:    {'yes' if found.built_in else 'no'}",
        f"description: {found.description}",
        f"takes:       {_takes(found)}",
    ]
    if not found.built_in:
        lines.append(f"ancestors:   {' -> '.join(found.ancestors) or 'none'}")
        lines.append(f"registered:  {found.registered_at}")
    print("\n".join(lines), file=stdout)
    return EXIT_OK


def _line(item: DataTypeInfo) -> str:
    description = f": {item.description}" if item.description else ""
    return f"{item.name} ({_origin(item)}; takes {_takes(item)}){description}"


def _origin(item: DataTypeInfo) -> str:
    return "built in" if item.built_in else f"parent {item.parent or 'none'}"


def _takes(item: DataTypeInfo) -> str:
    return "a file or a folder" if item.kind == "either" else f"a {item.kind}"
