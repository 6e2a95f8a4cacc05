"""The forbidden-purpose screen refuses what it must and lets everyday incidents through.

The texts are in tests/data/purpose_screen/: add any text wrongly refused to benign.txt
and any text wrongly let through to forbidden.txt.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from porchlight.kernel.domain.errors import PolicyRefused
from porchlight.requests.domain.requests import check_scope
from tests.unit.test_request_rules import NOW, POLICY, agency, draft

CORPUS = Path(__file__).parents[1] / "data" / "purpose_screen"


def _lines(name: str) -> list[str]:
    text = (CORPUS / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


BENIGN = _lines("benign.txt")
FORBIDDEN = [tuple(line.split("\t", 1)) for line in _lines("forbidden.txt")]


@pytest.mark.parametrize("text", BENIGN)
def test_everyday_incidents_pass(text: str) -> None:
    check_scope(replace(draft(), description=text), agency(), POLICY, NOW)


@pytest.mark.parametrize(("rule", "text"), FORBIDDEN)
def test_forbidden_purposes_are_refused(rule: str, text: str) -> None:
    with pytest.raises(PolicyRefused) as refused:
        check_scope(replace(draft(), description=text), agency(), POLICY, NOW)
    assert refused.value.rule == f"forbidden_purpose.{rule}"


def test_the_corpus_is_not_empty() -> None:
    assert len(BENIGN) >= 20 and len(FORBIDDEN) >= 20
    assert {rule for rule, _ in FORBIDDEN} == {"first_amendment", "immigration_enforcement",
                                               "mixed_scripts"}


def test_the_contact_field_is_screened_too() -> None:
    with pytest.raises(PolicyRefused) as refused:
        check_scope(replace(draft(), contact="Ask for the ICE liaison, desk 4"), agency(),
                    POLICY, NOW)
    assert refused.value.rule == "forbidden_purpose.immigration_enforcement"
