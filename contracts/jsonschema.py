"""JSON Schemas of the wire messages, for partners that integrate in another language.

Pure functions: `wire_schemas()` builds them, `render_schema()` turns one into the exact text of
its checked-in file under `contracts/schemas/`. Writing the files is the CLI's job
(`iaj contracts schemas`). The schemas describe what a partner must send and accept
(pydantic's "validation" mode); rules that span fields are stated in each `description`, and
`check_answer` stays the authority on whether an answer fits its question.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from contracts.messages import (
    SCHEMA_VERSION,
    AnswerItem,
    CancelRoundCommand,
    CommandReply,
    OpenRoundCommand,
    PartnerAnswer,
    QuestionSet,
    RefusalNotice,
    RelabelCommand,
    RoundResult,
    SubjectCorrection,
    Withdrawal,
)
from contracts.wire import REQUIRED_ON_WIRE

__all__ = ["DIALECT", "render_schema", "schema_filename", "wire_schemas"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_UTC_SUFFIX = r"([Zz]|[+-]00:?00)$"

_NOTES: dict[type[BaseModel], str] = {
    QuestionSet: (
        "Topic iaj.questions.<partner>, key = round_id. Rules across fields: `subjects` holds "
        "'jongere' and each subject_ref once; a groen set names no family member (role "
        "'gezinslid'); an `adres` comes only with its `adres_reden`; every question's "
        "subject_ref is one of `subjects`; question ids are unique; `detail_fields` are given "
        "exactly when the shape is 'detail'."
    ),
    Withdrawal: (
        "Topic iaj.questions.<partner>, key = round_id. The listed questions are no longer "
        "asked (the round was cancelled, the label lowered, the youth left or was erased): drop "
        "them and whatever was gathered for them. An answer to them is refused as `late`."
    ),
    SubjectCorrection: (
        "Topic iaj.questions.<partner>, key = round_id. The youth's data this partner was sent "
        "in the round was corrected (AVG art. 16, 19): replace it. `corrected` names the "
        "fields that changed; `subject` holds only fields this partner was sent."
    ),
    PartnerAnswer: (
        "Topic iaj.answers.<partner>, key = round_id. Each item must have exactly the shape its "
        "question was asked with (see AnswerItem); the municipality checks every item again "
        "and sends a RefusalNotice for one that is richer than its label permits."
    ),
    RefusalNotice: (
        "Topic iaj.refusals.<partner>, key = round_id. Says why an answer item was not "
        "accepted: `reason` is a RefusalReason code, `field` the offending field. Never carries "
        "answer content."
    ),
    RoundResult: (
        "Topic iaj.results, key = round_id. One per round and `revision`: every question "
        "that applied, answered, expired, not applicable or withdrawn. A higher revision of "
        "the same round (after afschalen) replaces the lower one. An outcome has an `answer` "
        "exactly when its status is 'answered'."
    ),
    OpenRoundCommand: (
        "Topic iaj.commands, key = round_id. A `case_id` whose youth has no recorded date of "
        "the information letter cannot open a round; `colour` must be the case's label and "
        "be permitted by its track and recorded criteria; `requested_by` is an official."
    ),
    RelabelCommand: (
        "Topic iaj.commands, key = case_id. Op- of afschalen; `requested_by` is an official."
    ),
    CancelRoundCommand: (
        "Topic iaj.commands, key = round_id. Stops an open round; `requested_by` is an official."
    ),
    CommandReply: (
        "Topic iaj.command-replies, key = the command id (`in_reply_to`). One reply per "
        "command record read from iaj.commands: `accepted` (carried out; `round_id` says which "
        "round), `duplicate` (the command id was carried out before: nothing more was done) "
        "or `rejected` (nothing changed; `reason` says why, and the command also went to "
        "iaj.deadletter for operators). A command whose id could not be read gets no reply. "
        "Replies are published at least once: de-duplicate on `message_id`."
    ),
    AnswerItem: (
        "The content an item may carry depends on its question's shape: ja_nee none; "
        "ja_nee_met_wie `met_wie`; ja_nee_domeinen `domeinen`; ja_nee_toelichting "
        "`toelichting` of at most the question's text_limit characters; detail `detail` with "
        "only the question's detail_fields (ja_nee: boolean, aantal: integer >= 0, tekst: "
        "non-empty string of at most text_limit characters). A 'nee' carries nothing but "
        "question_id and antwoord. Empty content (null, '', [], {}) counts as absent."
    ),
}
_TIMESTAMPS = "Timestamps are RFC 3339 in UTC ('Z' or '+00:00')."


class _WireSchema(GenerateJsonSchema):
    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        # Every timestamp on the wire is a UtcDatetime; say so where a validator can check it.
        return {**super().datetime_schema(schema), "pattern": _UTC_SUFFIX}


def wire_schemas() -> dict[str, dict[str, Any]]:
    """Message name -> its JSON Schema (draft 2020-12), in a stable order."""
    return {model.__name__: _schema(model) for model in _NOTES}


def schema_filename(name: str) -> str:
    return f"{name}.schema.json"


def render_schema(schema: dict[str, Any]) -> str:
    """The exact text of a checked-in schema file."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    generated = model.model_json_schema(mode="validation", schema_generator=_WireSchema)
    properties: dict[str, Any] = generated["properties"]
    required = set(generated.get("required", ()))
    if "type" in properties:  # an envelope: see REQUIRED_ON_WIRE
        required |= set(REQUIRED_ON_WIRE)
    description = f"{(model.__doc__ or model.__name__).strip()}\n\n{_NOTES[model]}"
    if _UTC_SUFFIX in json.dumps(generated):
        description += f" {_TIMESTAMPS}"
    return {
        "$schema": DIALECT,
        "$id": f"urn:iaj-broker:schema:{model.__name__}:v{SCHEMA_VERSION}",
        **generated,
        "title": model.__name__,
        "description": description,
        "required": [name for name in properties if name in required],
    }
