"""The settings documents' reader: a syntax error names its line, a document over 64 KiB is
refused, and any text is either a document or a ``DocumentError`` (never another exception)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.documents import MAX_DOCUMENT_CHARS, DocumentError, read_yaml
from bot.core.experiment_file import ExperimentFileError


def test_a_syntax_error_names_its_line() -> None:
    with pytest.raises(DocumentError) as refused:
        read_yaml("default:\n  messages: 10/minute\n defaults: x\n")
    assert refused.value.where == "line 3"
    assert str(refused.value).startswith("line 3: not YAML")


def test_a_document_over_the_cap_is_refused() -> None:
    with pytest.raises(DocumentError, match="over 64 KiB"):
        read_yaml("#" * (MAX_DOCUMENT_CHARS + 1))


def test_the_experiment_files_errors_are_document_errors() -> None:
    assert issubclass(ExperimentFileError, DocumentError)


@given(st.text(max_size=500))
def test_any_text_is_a_document_or_a_named_refusal(text: str) -> None:
    try:
        read_yaml(text)
    except DocumentError as error:
        reason = str(error)
    else:
        reason = "parsed"
    assert reason
