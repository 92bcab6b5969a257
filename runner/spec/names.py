"""Names: the python name of an input or output, and what each spec generation accepts as a
component name and a port name (the rules are written down in docs/reference.md)."""

from __future__ import annotations

import keyword
import re

_NON_WORD = re.compile(r"[\W_]+")
MAX_NAME = 255
# CLI v2 (azure-ai-ml and the service): a component name is lowercase letters, digits and
# '_', starting with a letter; input and output names are letters (either case), digits and
# '_', not starting with a digit, and no two of them equal ignoring case.
_V2_COMPONENT = re.compile(r"[a-z][a-z0-9_]*")
V2_COMPONENT_PATTERN = _V2_COMPONENT.pattern  # for the JSON Schema (runner.schema)
_V2_PORT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Component 2.0 names are namespaced with dots and may hold dashes and upper case
# (`microsoft.com.azureml.samples.train`, `Hello-World`); no spaces.
_COMPONENT_2 = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def python_name(name: str) -> str:
    """`Input path` -> `input_path`; `2nd stage` -> `n2nd_stage`; always an identifier (or '').

    Lowercase, every run of non-word characters or underscores becomes one space, strip,
    prefix `n` when it starts with a digit, spaces become `_`. A character that Python accepts
    as a word character but not in an identifier (`²`, `½`) counts as a non-word character.
    """
    lowered = "".join(c if ("a" + c).isidentifier() else " " for c in name.lower())
    collapsed = _NON_WORD.sub(" ", lowered).strip()
    if collapsed and not collapsed[0].isidentifier():
        collapsed = "n" + collapsed
    result = collapsed.replace(" ", "_")
    if keyword.iskeyword(result):
        result += "_"
    return result


def v2_component_name_problem(name: str) -> str | None:
    """Why `name` is not a CLI v2 component name, or None."""
    if len(name) > MAX_NAME:
        return f"a CLI v2 component name has at most {MAX_NAME} characters"
    if _V2_COMPONENT.fullmatch(name):
        return None
    return (
        "a CLI v2 component name starts with a lowercase letter followed by lowercase letters,"
        " digits or '_' (no upper case, '-' or '.')"
    )


def suggest_v2_component_name(name: str) -> str | None:
    suggestion = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    return suggestion if v2_component_name_problem(suggestion) is None else None


def component2_name_problem(name: str) -> str | None:
    """Why `name` is not a component 2.0 name, or None."""
    if len(name) > MAX_NAME:
        return f"a component name has at most {MAX_NAME} characters"
    if _COMPONENT_2.fullmatch(name):
        return None
    return (
        "a 2.0 component name starts with a letter or '_' followed by letters, digits, '_',"
        " '.' or '-' (no spaces: the display_name can have them)"
    )


def v2_port_name_problem(name: str) -> str | None:
    """Why `name` is not a CLI v2 input or output name, or None."""
    if _V2_PORT.fullmatch(name):
        return None
    return "a CLI v2 input or output name is letters, digits and '_', not starting with a digit"


def free_text_name_problem(name: str) -> str | None:
    """Legacy module and port names, 2.0 port names: free text, spaces allowed, but one line
    and not blank."""
    if not name.strip():
        return "a name cannot be blank"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "a name cannot hold control characters (a newline, a tab, NUL)"
    if len(name) > MAX_NAME:
        return f"a name has at most {MAX_NAME} characters"
    return None
