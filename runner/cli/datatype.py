"""`runner datatype register | list | show`: the port data types modules may use."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from runner.cli.common import add_registry_flag, emit
from runner.errors import EXIT_OK

if TYPE_CHECKING:
    from runner.registry.datatypes import DataTypeInfo


def add_datatype_commands(commands: Any) -> None:
    datatype = commands.add_parser("datatype", help="register and list port data types")
    actions = datatype.add_subparsers(dest="datatype_command", metavar="ACTION")
    actions.required = True
    reg = actions.add_parser("register", help="register a data type modules may use")
    reg.add_argument("name", metavar="NAME")
    reg.add_argument("--description", default="", metavar="TEXT")
    reg.add_argument(
        "--parent", metavar="TYPE", help="a type it connects to (and takes the kind of)"
    )
    listing = actions.add_parser("list", help="built-in and registered data types")
    show = actions.add_parser("show", help="one data type")
    show.add_argument("name", metavar="NAME")
    for parser in (reg, listing, show):
        parser.add_argument("--json", action="store_true", help="print JSON")
        add_registry_flag(parser)


def run_datatype_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    # Imported here: every other command builds this parser too.
    from runner.registry import datatypes
    from runner.registry.base import Registry
    from runner.registry.porttypes import BUILT_IN

    writes = args.datatype_command == "register"
    with Registry.open(args.registry, writable=writes) as registry:
        if args.datatype_command == "register":
            found, new = datatypes.register(
                registry.catalogue, args.name, args.description, args.parent
            )
            said = "registered" if new else "unchanged: already registered:"
            emit(args, stdout, {**found.to_json(), "new": new}, [f"{said} {_line(found)}"])
            return EXIT_OK
        registered = datatypes.registered_types(registry.catalogue)
        if args.datatype_command == "show":
            found = datatypes.info(args.name, registered)
            emit(args, stdout, found.to_json(), _details(found))
            return EXIT_OK
        known = [datatypes.info(name, registered) for name in BUILT_IN]
        known += [datatypes.info(row.name, registered) for row in registered.values()]
        emit(args, stdout, [item.to_json() for item in known], [_line(item) for item in known])
        return EXIT_OK


def _line(item: DataTypeInfo) -> str:
    origin = "built in" if item.built_in else f"parent {item.parent or 'none'}"
    description = f": {item.description}" if item.description else ""
    return f"{item.name} ({origin}; takes {_takes(item)}){description}"


def _takes(item: DataTypeInfo) -> str:
    return "a file or a folder" if item.kind == "either" else f"a {item.kind}"


def _details(item: DataTypeInfo) -> list[str]:
    lines = [
        f"name:        {item.name}",
        f"built in:    {'yes' if item.built_in else 'no'}",
        f"description: {item.description}",
        f"takes:       {_takes(item)}",
    ]
    if not item.built_in:
        lines.append(f"ancestors:   {' -> '.join(item.ancestors) or 'none'}")
        lines.append(f"registered:  {item.registered_at}")
    return lines
