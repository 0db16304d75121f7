"""The JSON Schemas partners integrate against: checked in, current, and strict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import contracts
from contracts.jsonschema import DIALECT, render_schema, schema_filename, wire_schemas
from contracts.wire import REQUIRED_ON_WIRE

SCHEMAS_DIR = Path(contracts.__file__).parent / "schemas"
SCHEMAS = wire_schemas()
ENVELOPES = [
    "QuestionSet",
    "Withdrawal",
    "SubjectCorrection",
    "PartnerAnswer",
    "RefusalNotice",
    "RoundResult",
    "OpenRoundCommand",
    "RelabelCommand",
    "CancelRoundCommand",
    "CommandReply",
]


def test_every_wire_message_has_a_schema() -> None:
    assert list(SCHEMAS) == [*ENVELOPES, "AnswerItem"]


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_checked_in_schema_is_current(name: str) -> None:
    path = SCHEMAS_DIR / schema_filename(name)
    hint = f"{path} is out of date: run `make schemas` and commit the result"
    assert path.is_file(), hint
    assert path.read_text(encoding="utf-8") == render_schema(SCHEMAS[name]), hint


def test_no_stale_schema_is_checked_in() -> None:
    expected = {schema_filename(name) for name in SCHEMAS}
    extra = {p.name for p in SCHEMAS_DIR.glob(schema_filename("*"))} - expected
    assert not extra, f"no longer generated: {sorted(extra)}; run `make schemas`"


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_schema_identifies_and_describes_itself(name: str) -> None:
    schema = SCHEMAS[name]
    assert schema["$schema"] == DIALECT
    assert schema["$id"] == f"urn:iaj-broker:schema:{name}:v1"
    assert schema["title"] == name
    assert len(schema["description"]) > 40


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every schema object in `node` that declares properties."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _objects(value)
    return found


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_extra_fields_are_forbidden_everywhere(name: str) -> None:
    objects = _objects(SCHEMAS[name])
    assert objects
    for obj in objects:
        assert obj["additionalProperties"] is False, obj.get("title")


@pytest.mark.parametrize("name", ENVELOPES)
def test_envelope_fields_are_required_on_the_wire(name: str) -> None:
    schema = SCHEMAS[name]
    assert set(REQUIRED_ON_WIRE) <= set(schema["required"])
    assert schema["properties"]["created_at"]["pattern"] == "([Zz]|[+-]00:?00)$"


def test_answer_item_requires_only_id_and_antwoord() -> None:
    item = SCHEMAS["AnswerItem"]
    assert item["required"] == ["question_id", "antwoord"]
    assert set(item["properties"]) == {
        "question_id",
        "antwoord",
        "met_wie",
        "domeinen",
        "toelichting",
        "signature",
        "detail",
    }
