"""The AsyncAPI documents: checked in, current, and true to the running apps and the ACLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel
from typer.testing import CliRunner

from broker.service.faststream_app import build_app
from broker.settings import ServiceSettings
from contracts import messages
from contracts.enums import Partner
from devtools.generators.asyncapi import ASYNCAPI_DIR, ASYNCAPI_DOCUMENTS, asyncapi_document
from devtools.generators.asyncapi_brokers import (
    COMMAND_MODELS,
    QUESTION_TOPIC_MODELS,
    municipal_broker,
    partner_broker,
)
from devtools.generators.contracts_command import app as contracts_app
from devtools.generators.kafka_acls import Operation, ResourceType, acl_plan
from kafka_access.principals import MUNICIPAL, partner_user
from partner_adapters.runtime import build_adapter
from partner_adapters.settings import AdapterSettings

pytest.importorskip("yaml")

MUNICIPAL_DOC = asyncapi_document(municipal_broker(), title="t", description="d")
PARTNER_DOC = asyncapi_document(partner_broker(), title="t", description="d")


@pytest.mark.parametrize("name", list(ASYNCAPI_DOCUMENTS))
def test_checked_in_document_is_current(name: str) -> None:
    path = ASYNCAPI_DIR / name
    hint = f"{path} is out of date: run `make schemas` and commit the result"
    assert path.is_file(), hint
    assert path.read_text(encoding="utf-8") == ASYNCAPI_DOCUMENTS[name](), hint


def topics(document: dict[str, Any], action: str, partner: Partner | None = None) -> set[str]:
    """The topics of the operations with this action; `{partner}` filled in for one or all."""
    partners = list(Partner) if partner is None else [partner]
    found = set()
    for operation in document["operations"].values():
        if operation["action"] != action:
            continue
        channel = operation["channel"]["$ref"].removeprefix("#/channels/")
        address = document["channels"][channel]["address"]
        found |= {address.replace("{partner}", p.value) for p in partners}
    return found


def real_subscriptions(broker: KafkaBroker) -> set[str]:
    spec = AsyncAPI(broker).to_specification().to_jsonable()
    return {channel["address"] for channel in spec["channels"].values()}


def acl_topics(user: str, operation: Operation) -> set[str]:
    [principal] = [p for p in acl_plan() if p.user == user]
    return {
        b.resource_name
        for b in principal.bindings
        if b.resource_type is ResourceType.TOPIC and b.operation is operation
    }


def test_the_municipal_document_reads_what_the_service_subscribes_to() -> None:
    settings = ServiceSettings(database_url="sqlite+aiosqlite:///:memory:", _env_file=None)
    _, service = build_app(settings)  # builds, connects to nothing
    assert topics(MUNICIPAL_DOC, "receive") == real_subscriptions(service.broker)


def test_the_municipal_document_matches_the_municipal_acls() -> None:
    assert topics(MUNICIPAL_DOC, "receive") == acl_topics(MUNICIPAL, Operation.READ)
    assert topics(MUNICIPAL_DOC, "send") == acl_topics(MUNICIPAL, Operation.WRITE)


@pytest.mark.parametrize("partner", list(Partner))
def test_the_partner_document_matches_the_adapter_and_the_partners_acls(partner: Partner) -> None:
    runtime = build_adapter(AdapterSettings(partner=partner, _env_file=None))
    documented = topics(PARTNER_DOC, "receive", partner)
    assert documented == {f"iaj.questions.{partner.value}", f"iaj.refusals.{partner.value}"}
    assert real_subscriptions(runtime.broker) == documented
    assert documented == acl_topics(partner_user(partner), Operation.READ)
    assert topics(PARTNER_DOC, "send", partner) == acl_topics(
        partner_user(partner), Operation.WRITE
    )


def test_partner_topics_are_one_channel_with_the_partner_as_parameter() -> None:
    for document in (MUNICIPAL_DOC, PARTNER_DOC):
        for channel in document["channels"].values():
            has_parameter = "{partner}" in channel["address"]
            assert ("parameters" in channel) == has_parameter
            if has_parameter:
                assert channel["parameters"]["partner"]["enum"] == [p.value for p in Partner]


@pytest.mark.parametrize(
    ("document", "channel", "models"),
    [
        (PARTNER_DOC, "questions", QUESTION_TOPIC_MODELS),
        (PARTNER_DOC, "answers", (messages.PartnerAnswer,)),
        (PARTNER_DOC, "refusals", (messages.RefusalNotice,)),
        (MUNICIPAL_DOC, "answers", (messages.PartnerAnswer,)),
        (MUNICIPAL_DOC, "commands", COMMAND_MODELS),
        (MUNICIPAL_DOC, "questions", QUESTION_TOPIC_MODELS),
        (MUNICIPAL_DOC, "refusals", (messages.RefusalNotice,)),
        (MUNICIPAL_DOC, "results", (messages.RoundResult,)),
    ],
)
def test_each_channel_carries_its_contract_messages(
    document: dict[str, Any], channel: str, models: tuple[type[BaseModel], ...]
) -> None:
    [ref] = [m["$ref"] for m in document["channels"][channel]["messages"].values()]
    message = document["components"]["messages"][ref.removeprefix("#/components/messages/")]
    refs = [{"$ref": f"#/components/schemas/{model.__name__}"} for model in models]
    payload = message["payload"]
    if len(models) > 1:  # one channel, several message types: the payload is any of them
        name = payload["$ref"].removeprefix("#/components/schemas/")
        payload = document["components"]["schemas"][name]["anyOf"]
        assert payload == refs
    else:
        assert [payload] == refs
    for model in models:
        schema = document["components"]["schemas"][model.__name__]
        expected = model.model_json_schema()
        assert list(schema["properties"]) == list(expected["properties"])
        assert schema.get("required") == expected.get("required")
        assert schema["additionalProperties"] is False
    assert message["correlationId"] == {"location": "$message.payload#/correlation_id"}
    assert message["bindings"]["kafka"]["key"]["format"] == "uuid"  # the round id


def test_dead_letters_are_bytes_with_the_reason_in_headers() -> None:
    [ref] = [m["$ref"] for m in MUNICIPAL_DOC["channels"]["deadletter"]["messages"].values()]
    message = MUNICIPAL_DOC["components"]["messages"][ref.removeprefix("#/components/messages/")]
    assert message["contentType"] == "application/octet-stream"
    assert "dlq_reason" in message["headers"]["properties"]
    assert "correlationId" not in message


def test_the_server_requires_scram_512_over_tls() -> None:
    for document in (MUNICIPAL_DOC, PARTNER_DOC):
        [(name, server)] = document["servers"].items()
        assert name == "production"
        assert server["protocol"] == "kafka-secure"
        assert server["security"] == [{"$ref": "#/components/securitySchemes/scram512"}]
        assert document["components"]["securitySchemes"] == {"scram512": {"type": "scramSha512"}}
        refs = str(document)
        assert "#/servers/development" not in refs


def test_cli_writes_then_checks(tmp_path: Path) -> None:
    runner = CliRunner()
    written = runner.invoke(contracts_app, ["asyncapi", "--dir", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(ASYNCAPI_DOCUMENTS)
    assert (
        runner.invoke(contracts_app, ["asyncapi", "--check", "--dir", str(tmp_path)]).exit_code == 0
    )
    (tmp_path / "municipal.yaml").write_text("asyncapi: 3.0.0\n")
    stale = runner.invoke(contracts_app, ["asyncapi", "--check", "--dir", str(tmp_path)])
    assert stale.exit_code == 1
    assert "municipal.yaml" in stale.stderr
    assert "make schemas" in stale.stderr
    assert (tmp_path / "municipal.yaml").read_text() == "asyncapi: 3.0.0\n"
