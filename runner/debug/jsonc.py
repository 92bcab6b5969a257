"""VS Code's launch.json is JSON with comments and trailing commas (JSONC): read it, and add or
replace one configuration by editing the text in place, so that the user's other entries,
comments and layout stay as they were."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

from runner.errors import UsageError


def _tokens(text: str) -> Iterator[tuple[int, str]]:
    """(position, character) of every structural character outside strings and comments."""
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char == '"':
            index += 1
            while index < size and text[index] != '"':
                index += 2 if text[index] == "\\" else 1
        elif text.startswith("//", index):
            newline = text.find("\n", index)
            index = size if newline < 0 else newline
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = size if end < 0 else end + 1
        elif char in "{}[],:":
            yield index, char
        index += 1


def plain_json(text: str) -> str:
    """The text without comments and trailing commas: what `json` reads."""
    out: list[str] = []
    index, size = 0, len(text)
    while index < size:
        if text[index] == '"':
            end = index + 1
            while end < size and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[index : end + 1])
            index = end + 1
        elif text.startswith("//", index):
            newline = text.find("\n", index)
            index = size if newline < 0 else newline
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = size if end < 0 else end + 2
        else:
            out.append(text[index])
            index += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


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
