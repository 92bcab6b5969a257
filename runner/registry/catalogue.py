"""The catalogue: modules, their versions and data types, in one SQLite file.

Safe for several processes: every change is one `BEGIN IMMEDIATE` transaction (writers queue
on SQLite's lock, readers see the state before or after it, never between), and the rollback
journal (not WAL) keeps a catalogue on a read-only mount readable. Reading a registry that was
never written creates nothing: an empty catalogue in memory stands in for it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from runner.registry.errors import RegistryError, storage_error
from runner.struct import Struct

BUSY_TIMEOUT_S = 120.0
FORMAT = 1  # PRAGMA user_version: a catalogue of a newer format is refused, never misread
_SCHEMA = """
CREATE TABLE IF NOT EXISTS modules (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    namespace TEXT NOT NULL,
    default_version TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    module TEXT NOT NULL COLLATE NOCASE REFERENCES modules(name),
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    spec_file TEXT NOT NULL,
    generation TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    source TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (module, version)
);
CREATE TABLE IF NOT EXISTS datatypes (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    description TEXT NOT NULL,
    parent TEXT,
    registered_at TEXT NOT NULL
);
"""
_VERSION_COLUMNS = (
    "module, version, digest, snapshot, spec_file, generation, display_name, description,"
    " source, registered_at, enabled, rowid"
)


# Rows are Structs: this module is imported on the way to a run, and a Struct class is cheaper to
# create than a NamedTuple, whose annotations typing would also compile() at import.
class ModuleRow(Struct):
    name: str  # NAMESPACE/NAME or NAME, as first registered
    namespace: str
    default_version: str
    created_at: str


class VersionRow(Struct):
    module: str
    version: str
    digest: str  # the bundle's digest: its key in the registry's store
    snapshot: str  # the code snapshot's digest
    spec_file: str  # the spec's file name inside the bundle
    generation: str
    display_name: str
    description: str
    source: Mapping[str, object]  # where it was registered from
    registered_at: str
    enabled: bool
    order: int  # registration order: the highest is `latest`


class DataTypeRow(Struct):
    name: str
    description: str
    parent: str | None
    registered_at: str


class Catalogue:
    """One open catalogue. `writable=False` opens it read-only (or an empty stand-in when the
    file does not exist yet)."""

    def __init__(self, path: Path, *, writable: bool) -> None:
        self.path = path
        self.writable = writable
        try:
            self._db = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise storage_error(exc, path.parent, "cannot open the registry") from None
        if writable:
            with self.transaction("cannot open the registry"):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                if self._format() == 0:
                    self._db.execute(f"PRAGMA user_version = {FORMAT}")
        found = self._format()
        if found > FORMAT:
            self._db.close()
            raise RegistryError(
                f"the registry catalogue {path} was written by a newer runner"
                f" (format {found}, this one reads {FORMAT})",
                "upgrade runner, or give another registry with --registry DIR",
            )

    def _format(self) -> int:
        return int(str(self._read("PRAGMA user_version")[0][0]))

    def _read(self, sql: str, params: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query; a catalogue that cannot be read (damaged, not a catalogue) is a
        RegistryError, as a storage failure is."""
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path.parent, "cannot read the registry") from None

    def _connect(self) -> sqlite3.Connection:
        if self.writable:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        if not self.path.exists():
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(_SCHEMA)
            return db
        uri = f"{self.path.as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self, doing: str) -> Iterator[None]:
        """One change, all or nothing; writers wait for each other. A storage failure (a full
        disk, a read-only folder) is a RegistryError saying what was being done."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise storage_error(exc, self.path.parent, doing) from None

    # -- modules and versions --------------------------------------------------------------------

    def modules(self, namespace: str | None = None) -> list[ModuleRow]:
        sql = "SELECT name, namespace, default_version, created_at FROM modules"
        params: tuple[str, ...] = ()
        if namespace is not None:
            sql, params = sql + " WHERE namespace = ? COLLATE NOCASE", (namespace,)
        return [ModuleRow(*row) for row in self._read(sql + " ORDER BY name", params)]

    def module(self, name: str) -> ModuleRow | None:
        rows = self._read(
            "SELECT name, namespace, default_version, created_at FROM modules WHERE name = ?",
            (name,),
        )
        return ModuleRow(*rows[0]) if rows else None

    def versions(self, module: str | None = None) -> list[VersionRow]:
        """Versions in registration order (of one module, or of all)."""
        sql = f"SELECT {_VERSION_COLUMNS} FROM versions"
        params: tuple[str, ...] = ()
        if module is not None:
            sql, params = sql + " WHERE module = ?", (module,)
        return [_version(row) for row in self._read(sql + " ORDER BY rowid", params)]

    def version(self, module: str, version: str) -> VersionRow | None:
        rows = self._read(
            f"SELECT {_VERSION_COLUMNS} FROM versions WHERE module = ? AND version = ?",
            (module, version),
        )
        return _version(rows[0]) if rows else None

    def add_version(self, namespace: str, row: VersionRow, *, make_default: bool) -> ModuleRow:
        """Insert a version (call inside a transaction); the module appears with its first
        version, which becomes its default."""
        found = self.module(row.module)
        if found is None:
            self._db.execute(
                "INSERT INTO modules (name, namespace, default_version, created_at)"
                " VALUES (?, ?, ?, ?)",
                (row.module, namespace, row.version, row.registered_at),
            )
        self._db.execute(
            f"INSERT INTO versions ({_VERSION_COLUMNS.removesuffix(', rowid')})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                found.name if found else row.module,
                row.version,
                row.digest,
                row.snapshot,
                row.spec_file,
                row.generation,
                row.display_name,
                row.description,
                json.dumps(dict(row.source), sort_keys=True),
                row.registered_at,
                1 if row.enabled else 0,
            ),
        )
        if found is not None and make_default:
            self.set_default(found.name, row.version)
        result = self.module(row.module)
        assert result is not None  # inserted just above
        return result

    def set_default(self, module: str, version: str) -> None:
        self._db.execute("UPDATE modules SET default_version = ? WHERE name = ?", (version, module))

    def set_enabled(self, module: str, versions: Sequence[str], enabled: bool) -> None:
        self._db.executemany(
            "UPDATE versions SET enabled = ? WHERE module = ? AND version = ?",
            [(1 if enabled else 0, module, version) for version in versions],
        )

    # -- data types ------------------------------------------------------------------------------

    def datatypes(self) -> list[DataTypeRow]:
        rows = self._read(
            "SELECT name, description, parent, registered_at FROM datatypes ORDER BY name"
        )
        return [DataTypeRow(*row) for row in rows]

    def datatype(self, name: str) -> DataTypeRow | None:
        rows = self._read(
            "SELECT name, description, parent, registered_at FROM datatypes WHERE name = ?",
            (name,),
        )
        return DataTypeRow(*rows[0]) if rows else None

    def add_datatype(self, row: DataTypeRow) -> None:
        self._db.execute(
            "INSERT INTO datatypes (name, description, parent, registered_at) VALUES (?, ?, ?, ?)",
            (row.name, row.description, row.parent, row.registered_at),
        )


def _version(row: tuple[object, ...]) -> VersionRow:
    (module, version, digest, snapshot, spec_file, generation, display, description, source,
     registered_at, enabled, order) = row  # fmt: skip
    return VersionRow(
        module=str(module),
        version=str(version),
        digest=str(digest),
        snapshot=str(snapshot),
        spec_file=str(spec_file),
        generation=str(generation),
        display_name=str(display),
        description=str(description),
        source=json.loads(str(source)),
        registered_at=str(registered_at),
        enabled=bool(enabled),
        order=int(str(order)),
    )
