"""VS Code's launch.json is JSON with comments and trailing commas (JSONC): read it, and add or
replace one configuration by editing the text in place, so that the user's other entries,
comments and layout stay as they were."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from runner.errors import UsageError


def _pieces(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of each string, comment and other character, in order."""
    index, size = 0, len(text)
    while index < size:
        kind = "char"
        end = index + 1
        if text[index] == '"':
            while end < size and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            kind, end = "string", min(end + 1, size)
        elif text.startswith("//", index):
            newline = text.find("\n", index)
            kind, end = "comment", size if newline < 0 else newline
        elif text.startswith("/*", index):
            close = text.find("*/", index + 2)
            kind, end = "comment", size if close < 0 else close + 2
        yield index, end, kind
        index = end


def _tokens(text: str) -> Iterator[tuple[int, str]]:
    """(position, character) of every structural character outside strings and comments."""
    for start, _, kind in _pieces(text):
        if kind == "char" and text[start] in "{}[],:":
            yield start, text[start]


def plain_json(text: str) -> str:
    """The text without comments and trailing commas: what `json` reads."""
    pieces = [text[start:end] for start, end, kind in _pieces(text) if kind != "comment"]
    kept: list[str] = []
    following = ""  # the next piece that is not white space
    for piece in reversed(pieces):
        if piece == "," and following in ("}", "]"):
            continue
        kept.append(piece)
        if not piece.isspace():
            following = piece
    return "".join(reversed(kept))


def read_jsonc(text: str, where: str) -> dict[str, object]:
    try:
        data = json.loads(plain_json(text))
    except ValueError as exc:
        raise UsageError(
            f"{where}: not valid JSON with comments: {exc}",
            "fix the file, or move it aside to have it written anew",
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected an object with `configurations`")
    return data


def _array_after(text: str, key: str) -> tuple[int, int] | None:
    """Where the top-level `key`'s array opens and closes (positions of `[` and `]`)."""
    depth = 0
    opened = None
    quoted = f'"{key}"'
    for position, char in _tokens(text):
        if char in "{[":
            depth += 1
            if char == "[" and depth == 2 and opened is None:
                before = text[:position].rstrip()
                if before.endswith(":") and before[:-1].rstrip().endswith(quoted):
                    opened = position
        elif char in "}]":
            if char == "]" and depth == 2 and opened is not None:
                return opened, position
            depth -= 1
    return None


def _entries(text: str, opened: int, closed: int) -> list[tuple[int, int]]:
    """The (start, end) spans of the objects directly inside the array."""
    spans: list[tuple[int, int]] = []
    depth, start = 0, 0
    for position, char in _tokens(text[opened + 1 : closed]):
        if char in "{[":
            if depth == 0:
                start = opened + 1 + position
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                spans.append((start, opened + 1 + position + 1))
    return spans


def merge_configuration(text: str | None, entry: Mapping[str, object], where: str) -> str:
    """launch.json's text with `entry` in `configurations`: replacing the one of the same name,
    else added last. Everything else of the text is kept as it was."""
    body = json.dumps(entry, indent=2)
    if text is None or not text.strip():
        return json.dumps({"version": "0.2.0", "configurations": [entry]}, indent=2) + "\n"
    data = read_jsonc(text, where)
    found = _array_after(text, "configurations")
    if found is None or not isinstance(data.get("configurations"), list):
        raise UsageError(f"{where}: no `configurations` list to add to",
                         'add `"configurations": []` to the file')  # fmt: skip
    opened, closed = found
    existing_entries = data["configurations"]
    assert isinstance(existing_entries, list)
    indented = body.replace("\n", "\n    ")
    spans = _entries(text, opened, closed)
    for (start, end), existing in zip(spans, existing_entries, strict=False):
        if isinstance(existing, dict) and existing.get("name") == entry.get("name"):
            return text[:start] + indented + text[end:]
    # Added right after the last entry (or the bracket): never inside a comment after it.
    after = spans[-1][1] if spans else opened + 1
    comma = "," if spans else ""
    following = next(iter(_tokens(text[after:closed])), None)
    if spans and following is not None and following[1] == ",":
        after, comma = after + following[0] + 1, ""  # the user's trailing comma serves
    return f"{text[:after]}{comma}\n    {indented}{text[after:]}"
