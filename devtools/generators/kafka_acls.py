"""The Kafka ACLs of the production cluster, as data derived from the contracts.

Each principal gets exactly what its role needs and nothing else (the cluster denies what no
ACL allows: `allow.everyone.if.no.acl.found=false`):

- a partner, `User:partner-<code>`: reads its own question and refusal topics, writes its own
  answer topic, and commits offsets in its own consumer group `iaj-adapter-<code>`;
- the municipal service, `User:iaj-municipal`: reads every answer topic and the commands,
  writes questions, refusals, results and dead letters, and creates all topics at start-up;
- the municipal backend, `User:iaj-backend`: reads the results and the command replies,
  writes commands;
- operators, `User:iaj-operator` (optional): read the dead letters;
- monitoring, `User:iaj-monitor`: describes every topic (and its configs) and every consumer
  group with its committed offsets, so lag exporters and consoles see lag; reads and writes no
  record, joins no group.

Every binding is LITERAL (no prefixes, so a partner added later gets nothing by accident),
ALLOW, from any host. An idempotent producer needs no cluster-wide IdempotentWrite: since
Kafka 3.0, WRITE on any topic suffices (KIP-679).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from contracts.enums import Partner
from contracts.topics import (
    COMMAND_REPLIES,
    COMMANDS,
    DEADLETTER,
    RESULTS,
    all_topics,
    answer_topic,
    question_topic,
    refusal_topic,
)
from kafka_access.principals import (
    BACKEND,
    BACKEND_GROUP,
    MONITOR,
    MUNICIPAL,
    MUNICIPAL_GROUP,
    OPERATOR,
    OPERATOR_GROUP,
    all_groups,
    partner_group,
    partner_user,
)

__all__ = [
    "AclBinding",
    "Operation",
    "PrincipalAcls",
    "ResourceType",
    "acl_plan",
    "password_variable",
    "render_json",
    "render_kafka_acls",
]


class Operation(StrEnum):
    """Kafka ACL operations, spelled as `kafka-acls.sh --operation` takes them."""

    READ = "Read"
    WRITE = "Write"
    CREATE = "Create"
    DESCRIBE = "Describe"
    DESCRIBE_CONFIGS = "DescribeConfigs"


class ResourceType(StrEnum):
    TOPIC = "Topic"
    GROUP = "Group"


@dataclass(frozen=True)
class AclBinding:
    """ALLOW `operation` on the LITERAL resource `resource_name` to `principal`, any host."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    operation: Operation


@dataclass(frozen=True)
class PrincipalAcls:
    """One Kafka user: who it is, what it is for, and everything it is allowed."""

    user: str  # the SASL user name; the principal is "User:<user>"
    role: str
    bindings: tuple[AclBinding, ...]

    @property
    def principal(self) -> str:
        return f"User:{self.user}"


def password_variable(user: str) -> str:
    """The environment variable holding `user`'s password in the deployment files."""
    return "KAFKA_PASSWORD_" + user.upper().replace("-", "_")


def acl_plan(*, include_operator: bool = True) -> list[PrincipalAcls]:
    """Every principal of the cluster (except the super user `admin`) with its ACL bindings."""
    plan = [_municipal(), _backend()]
    if include_operator:
        plan.append(_operator())
    plan.append(_monitor())
    plan += [_partner(partner) for partner in Partner]
    return plan


def _partner(partner: Partner) -> PrincipalAcls:
    user = partner_user(partner)
    reads = [question_topic(partner), refusal_topic(partner)]
    writes = [answer_topic(partner)]
    return PrincipalAcls(
        user,
        f"partner {partner.value}: reads its questions and refusals, writes its answers",
        (
            *_grant(user, ResourceType.TOPIC, reads, Operation.READ, Operation.DESCRIBE),
            *_grant(user, ResourceType.TOPIC, writes, Operation.WRITE, Operation.DESCRIBE),
            *_grant(user, ResourceType.GROUP, [partner_group(partner)], Operation.READ),
        ),
    )


_CREATE = (Operation.CREATE, Operation.DESCRIBE)


def _municipal() -> PrincipalAcls:
    reads = [*(answer_topic(p) for p in Partner), COMMANDS]
    writes = [
        *(question_topic(p) for p in Partner),
        *(refusal_topic(p) for p in Partner),
        RESULTS,
        COMMAND_REPLIES,
        DEADLETTER,
    ]
    return PrincipalAcls(
        MUNICIPAL,
        "municipal service: reads answers and commands; writes questions, refusals, results, "
        "command replies and dead letters; creates the topics at start-up",
        (
            *_grant(MUNICIPAL, ResourceType.TOPIC, reads, Operation.READ),
            *_grant(MUNICIPAL, ResourceType.TOPIC, writes, Operation.WRITE),
            # CreateTopics is authorised per topic, also for a topic that exists already.
            *_grant(MUNICIPAL, ResourceType.TOPIC, all_topics(), *_CREATE),
            *_grant(MUNICIPAL, ResourceType.GROUP, [MUNICIPAL_GROUP], Operation.READ),
        ),
    )


def _backend() -> PrincipalAcls:
    return PrincipalAcls(
        BACKEND,
        "municipal backend: reads round results and command replies, writes commands",
        (
            *_grant(
                BACKEND,
                ResourceType.TOPIC,
                [RESULTS, COMMAND_REPLIES],
                Operation.READ,
                Operation.DESCRIBE,
            ),
            *_grant(BACKEND, ResourceType.TOPIC, [COMMANDS], Operation.WRITE, Operation.DESCRIBE),
            *_grant(BACKEND, ResourceType.GROUP, [BACKEND_GROUP], Operation.READ),
        ),
    )


def _operator() -> PrincipalAcls:
    return PrincipalAcls(
        OPERATOR,
        "operators: read the dead letters (the reason is in the record headers)",
        (
            *_grant(OPERATOR, ResourceType.TOPIC, [DEADLETTER], Operation.READ, Operation.DESCRIBE),
            *_grant(OPERATOR, ResourceType.GROUP, [OPERATOR_GROUP], Operation.READ),
        ),
    )


def _monitor() -> PrincipalAcls:
    return PrincipalAcls(
        MONITOR,
        "monitoring (lag exporters, consoles, `iaj status`): describes every topic, its "
        "configs and end offsets, and every consumer group with its committed offsets; reads "
        "and writes no record",
        (
            *_grant(
                MONITOR,
                ResourceType.TOPIC,
                all_topics(),
                Operation.DESCRIBE,
                Operation.DESCRIBE_CONFIGS,
            ),
            *_grant(MONITOR, ResourceType.GROUP, all_groups(), Operation.DESCRIBE),
        ),
    )


def _grant(
    user: str, resource_type: ResourceType, names: Iterable[str], *operations: Operation
) -> Iterator[AclBinding]:
    principal = f"User:{user}"
    for name in names:
        for operation in operations:
            yield AclBinding(principal, resource_type, name, operation)


# --- rendering -------------------------------------------------------------------------------

_HEADER = """\
#!/bin/sh
# Generated by `iaj deploy acls` from contracts/topics.py and devtools/generators/kafka_acls.py.
# Do not edit: change those and run `make deploy-files`.
#
# Adds the ACLs of every principal. Safe to run again: adding an existing ACL changes nothing.
# Usage: kafka-acls.sh BOOTSTRAP_SERVERS ADMIN_CLIENT_PROPERTIES
#   ADMIN_CLIENT_PROPERTIES: a client config file that logs in as the super user (admin).
set -eu
BOOTSTRAP="${1:?usage: kafka-acls.sh BOOTSTRAP_SERVERS ADMIN_CLIENT_PROPERTIES}"
ADMIN_CONFIG="${2:?usage: kafka-acls.sh BOOTSTRAP_SERVERS ADMIN_CLIENT_PROPERTIES}"
KAFKA_ACLS="${KAFKA_BIN:-/opt/kafka/bin}/kafka-acls.sh"
"""


def render_kafka_acls(plan: Iterable[PrincipalAcls]) -> str:
    """A POSIX shell script of `kafka-acls.sh --add` commands granting exactly `plan`.

    One command per principal and set of operations: kafka-acls.sh grants every listed
    operation on every listed resource, so only resources that share their operations are
    listed together.
    """
    lines = [_HEADER]
    for principal in plan:
        lines.append(f"\n# {principal.principal}: {principal.role}\n")
        for resource_type, operations, names in _grouped(principal.bindings):
            args = [
                f"--allow-principal {shlex.quote(principal.principal)}",
                " ".join(f"--operation {op.value}" for op in operations),
                *(f"--{resource_type.value.lower()} {shlex.quote(name)}" for name in names),
            ]
            lines.append(
                '"$KAFKA_ACLS" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG"'
                " --add \\\n    " + " \\\n    ".join(args) + "\n"
            )
    return "".join(lines)


def render_json(plan: Iterable[PrincipalAcls]) -> str:
    """The plan as JSON: one object per principal with its bindings."""
    document = [
        {
            "principal": principal.principal,
            "role": principal.role,
            "bindings": [
                {
                    "resource_type": binding.resource_type.value,
                    "resource_name": binding.resource_name,
                    "pattern_type": "Literal",
                    "operation": binding.operation.value,
                    "permission": "Allow",
                    "host": "*",
                }
                for binding in principal.bindings
            ],
        }
        for principal in plan
    ]
    return json.dumps(document, indent=2) + "\n"


def _grouped(
    bindings: Iterable[AclBinding],
) -> list[tuple[ResourceType, tuple[Operation, ...], list[str]]]:
    """(resource type, operations, resource names), in order of first appearance."""
    operations: dict[tuple[ResourceType, str], list[Operation]] = {}
    for binding in bindings:
        ops = operations.setdefault((binding.resource_type, binding.resource_name), [])
        if binding.operation not in ops:
            ops.append(binding.operation)
    groups: dict[tuple[ResourceType, tuple[Operation, ...]], list[str]] = {}
    for (resource_type, name), ops in operations.items():
        groups.setdefault((resource_type, tuple(ops)), []).append(name)
    return [(resource_type, ops, names) for (resource_type, ops), names in groups.items()]
