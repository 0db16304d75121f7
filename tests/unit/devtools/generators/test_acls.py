"""The ACL plan: each principal may do what its role needs, and nothing of anyone else's.

The expectations are written out here from the topic naming rules, not taken from
`contracts.topics`, so a wrong helper there cannot make a wrong ACL look right.
"""

from __future__ import annotations

import json

import pytest

from broker.settings import ServiceSettings
from contracts.enums import Partner
from contracts.topics import all_topics
from devtools.generators.kafka_acls import (
    AclBinding,
    Operation,
    PrincipalAcls,
    ResourceType,
    acl_plan,
    render_json,
)
from kafka_access.principals import BACKEND, MONITOR, MUNICIPAL, OPERATOR, partner_group
from partner_adapters.kafka_io import consumer_group
from partner_adapters.settings import AdapterSettings

PLAN = acl_plan()
BINDINGS = [binding for principal in PLAN for binding in principal.bindings]
READ, WRITE, CREATE, DESCRIBE, DESCRIBE_CONFIGS = (
    Operation.READ,
    Operation.WRITE,
    Operation.CREATE,
    Operation.DESCRIBE,
    Operation.DESCRIBE_CONFIGS,
)
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP


def questions(p: Partner) -> str:
    return f"iaj.questions.{p.value}"


def answers(p: Partner) -> str:
    return f"iaj.answers.{p.value}"


def refusals(p: Partner) -> str:
    return f"iaj.refusals.{p.value}"


def grants(principal: str) -> set[tuple[ResourceType, str, Operation]]:
    return {
        (b.resource_type, b.resource_name, b.operation)
        for b in BINDINGS
        if b.principal == principal
    }


def who(resource: str, operation: Operation) -> set[str]:
    return {
        b.principal
        for b in BINDINGS
        if (b.resource_type, b.resource_name, b.operation) == (TOPIC, resource, operation)
    }


@pytest.mark.parametrize("partner", list(Partner))
def test_a_partner_gets_exactly_its_own_topics_and_group(partner: Partner) -> None:
    assert grants(f"User:partner-{partner.value}") == {
        (TOPIC, questions(partner), READ),
        (TOPIC, questions(partner), DESCRIBE),
        (TOPIC, refusals(partner), READ),
        (TOPIC, refusals(partner), DESCRIBE),
        (TOPIC, answers(partner), WRITE),
        (TOPIC, answers(partner), DESCRIBE),
        (GROUP, f"iaj-adapter-{partner.value}", READ),
    }


@pytest.mark.parametrize("partner", list(Partner))
def test_no_binding_of_a_partner_mentions_another_partners_topic(partner: Partner) -> None:
    others = {
        name
        for other in Partner
        if other is not partner
        for name in (questions(other), answers(other), refusals(other))
    }
    own = [b for b in BINDINGS if b.principal == f"User:partner-{partner.value}"]
    assert own
    assert not [b for b in own if b.resource_name in others]


@pytest.mark.parametrize("partner", list(Partner))
def test_only_the_partner_reads_its_questions_and_only_it_writes_its_answers(
    partner: Partner,
) -> None:
    assert who(questions(partner), READ) == {f"User:partner-{partner.value}"}
    assert who(refusals(partner), READ) == {f"User:partner-{partner.value}"}
    assert who(answers(partner), WRITE) == {f"User:partner-{partner.value}"}
    assert who(questions(partner), WRITE) == {f"User:{MUNICIPAL}"}
    assert who(answers(partner), READ) == {f"User:{MUNICIPAL}"}


def test_the_municipal_service_cannot_read_question_or_refusal_topics() -> None:
    municipal = grants(f"User:{MUNICIPAL}")
    for partner in Partner:
        assert (TOPIC, questions(partner), READ) not in municipal
        assert (TOPIC, refusals(partner), READ) not in municipal
        assert (TOPIC, answers(partner), WRITE) not in municipal


def test_nobody_but_the_municipal_service_writes_results_questions_refusals_dead_letters() -> None:
    for topic in [
        "iaj.results",
        "iaj.command-replies",
        "iaj.deadletter",
        *map(questions, Partner),
        *map(refusals, Partner),
    ]:
        assert who(topic, WRITE) == {f"User:{MUNICIPAL}"}, topic


def test_the_municipal_service_reads_answers_and_commands_and_creates_every_topic() -> None:
    municipal = grants(f"User:{MUNICIPAL}")
    for partner in Partner:
        assert (TOPIC, answers(partner), READ) in municipal
    assert (TOPIC, "iaj.commands", READ) in municipal
    for topic in all_topics():
        assert {(TOPIC, topic, CREATE), (TOPIC, topic, DESCRIBE)} <= municipal
    assert (GROUP, "iaj-municipal", READ) in municipal
    assert (TOPIC, "iaj.command-replies", WRITE) in municipal
    assert not {op for (kind, _, op) in municipal if kind is GROUP} - {READ}


def test_the_backend_reads_results_and_replies_and_writes_commands_only() -> None:
    assert grants(f"User:{BACKEND}") == {
        (TOPIC, "iaj.results", READ),
        (TOPIC, "iaj.results", DESCRIBE),
        (TOPIC, "iaj.command-replies", READ),
        (TOPIC, "iaj.command-replies", DESCRIBE),
        (TOPIC, "iaj.commands", WRITE),
        (TOPIC, "iaj.commands", DESCRIBE),
        (GROUP, "iaj-backend", READ),
    }
    assert who("iaj.commands", WRITE) == {f"User:{BACKEND}"}
    assert who("iaj.results", READ) == {f"User:{BACKEND}"}
    assert who("iaj.command-replies", READ) == {f"User:{BACKEND}"}


def test_the_monitor_describes_every_topic_and_group_and_nothing_else() -> None:
    groups = {
        "iaj-municipal",
        "iaj-backend",
        "iaj-operator",
        *(f"iaj-adapter-{p.value}" for p in Partner),
    }
    assert grants(f"User:{MONITOR}") == {
        *((TOPIC, t, op) for t in all_topics() for op in (DESCRIBE, DESCRIBE_CONFIGS)),
        *((GROUP, g, DESCRIBE) for g in groups),
    }


def test_operators_are_optional_and_only_read_dead_letters() -> None:
    assert grants(f"User:{OPERATOR}") == {
        (TOPIC, "iaj.deadletter", READ),
        (TOPIC, "iaj.deadletter", DESCRIBE),
        (GROUP, "iaj-operator", READ),
    }
    without = acl_plan(include_operator=False)
    assert f"User:{OPERATOR}" not in {p.principal for p in without}
    assert len(without) == len(PLAN) - 1


def test_nothing_is_granted_beyond_topics_and_groups_or_with_wildcards() -> None:
    assert {b.resource_type for b in BINDINGS} == {TOPIC, GROUP}
    assert not [b for b in BINDINGS if "*" in b.resource_name or b.resource_name.endswith(".")]
    assert {b.resource_name for b in BINDINGS if b.resource_type is TOPIC} == set(all_topics())


def test_every_topic_has_a_writer_and_a_reader() -> None:
    for topic in all_topics():
        assert f"User:{MONITOR}" not in who(topic, WRITE) | who(topic, READ)
        assert who(topic, WRITE), topic
        assert who(topic, READ), topic


def test_each_principal_is_one_user_with_a_distinct_name() -> None:
    users = [p.user for p in PLAN]
    assert len(users) == len(set(users)) == len(Partner) + 4
    assert "admin" not in users
    for principal in PLAN:
        assert {b.principal for b in principal.bindings} == {f"User:{principal.user}"}


def test_the_groups_are_the_ones_the_clients_use() -> None:
    for partner in Partner:
        assert partner_group(partner) == consumer_group(AdapterSettings(partner=partner))
    assert ServiceSettings.model_fields["consumer_group"].default == "iaj-municipal"


def test_json_lists_every_binding_as_literal_allow() -> None:
    document = json.loads(render_json(PLAN))
    assert [entry["principal"] for entry in document] == [p.principal for p in PLAN]
    parsed = {
        AclBinding(
            entry["principal"],
            ResourceType(binding["resource_type"]),
            binding["resource_name"],
            Operation(binding["operation"]),
        )
        for entry in document
        for binding in entry["bindings"]
    }
    assert parsed == set(BINDINGS)
    flags = {
        (b["pattern_type"], b["permission"], b["host"]) for e in document for b in e["bindings"]
    }
    assert flags == {("Literal", "Allow", "*")}


def test_roles_say_what_each_principal_is_for() -> None:
    assert all(isinstance(p, PrincipalAcls) and p.role for p in PLAN)
