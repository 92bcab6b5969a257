"""Python names for inputs and outputs, following the seed's rule (spaces become `_`)."""

from __future__ import annotations

import keyword
import re

_NON_WORD = re.compile(r"[\W_]+")


def python_name(name: str) -> str:
    """`Input path` -> `input_path`; `2nd stage` -> `n2nd_stage`.

    Lowercase, every run of non-word characters or underscores becomes one space, strip,
    prefix `n` when it starts with a digit, spaces become `_`.
    """
    collapsed = _NON_WORD.sub(" ", name.lower()).strip()
    if collapsed and collapsed[0].isdigit():
        collapsed = "n" + collapsed
    result = collapsed.replace(" ", "_")
    if keyword.iskeyword(result):
        result += "_"
    return result
