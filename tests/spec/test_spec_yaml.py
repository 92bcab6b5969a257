"""libyaml's parser reads specs as the pure-Python one does: the same values and the same line
and column for every path; whatever it refuses, the pure-Python parser judges (so errors keep
their words and positions). The two differ on exotic syntax no spec uses (see `_compose`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runner.spec.source as source
from runner.errors import SpecError
from runner.spec.source import Document, parse_document

REPO = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(
    path
    for folder in ("samples", "tests", "environments", "runner/environments")
    for path in (REPO / folder).rglob("*.y*ml")
    if path.suffix in (".yaml", ".yml")
)


def parse_both(
    path: Path, text: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Document | str, Document | str]:
    """What each parser makes of `text`: a Document, or the SpecError's text."""
    results: list[Document | str] = []
    for loader in (yaml.CSafeLoader, None):
        with monkeypatch.context() as patch:
            patch.setattr(source, "_fast_loader", lambda loader=loader: loader)
            try:
                results.append(parse_document(path, text))
            except SpecError as exc:
                results.append(str(exc))
    return results[0], results[1]


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML was built without libyaml")
    assert source._fast_loader() is yaml.CSafeLoader


def test_every_shipped_yaml_file_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(YAML_FILES) > 20
    for path in YAML_FILES:
        fast, pure = parse_both(path, path.read_text(encoding="utf-8"), monkeypatch)
        assert isinstance(fast, Document), (path, fast)
        assert fast == pure, path
        assert len(fast.positions) > 3


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [1, 2\n",  # unclosed flow sequence
        "args:[a, b]\n",  # a glued key
        "a: 1\na: 2\n",  # duplicate key
        "a: b: c\n",
        "- a\nb: 1\n",
        "a:\n\t- b\n",  # a tab
        "a: \x07\n",  # a control character
        "a: &x [*x]\n",
        "%YAML 2.0\n---\na: 1\n",
        "a: 1\n---\nb: 2\n",  # two documents
        "'unterminated\n",
        "[" * 1200 + "]" * 1200,  # deeper than libyaml's limit
        "a: \ud800\n",  # a lone surrogate: libyaml cannot encode it
    ],
)
def test_errors_keep_their_words_and_positions(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, pure = parse_both(Path("/x/spec.yaml"), text, monkeypatch)
    assert fast == pure


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["", "~", "yes", "0o17", "1e3", "2024-01-01", "a: b", "- x", "#", "'q'"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=values, flow=st.booleans(), width=st.sampled_from([20, 80]))
def test_any_document_reads_the_same(
    value: object, flow: bool, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, width=width, allow_unicode=True)
    fast, pure = parse_both(Path("/x/spec.yaml"), text, monkeypatch)
    assert fast == pure
