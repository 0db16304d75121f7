"""Apache Kafka, configured as deployed, enforces the ACLs of devtools/generators/kafka_acls.py.

Against the session's broker (SASL/SCRAM, StandardAuthorizer, `allow.everyone.if.no.acl.found=
false`, the users, topics and ACLs of the deploy scripts), with every client logged in with
its own credentials, this proves: the broker holds exactly the planned ACLs; each of the 14
partners reads its own question and refusal topics in its own consumer group, writes its own
answer topic and sees no other topic, and is refused, with the broker's authorization error,
reading any other topic (another partner's questions and refusals, every answer topic including
its own, results, commands, dead letters), writing any topic but its answers (forging municipal
questions or refusals included), joining any other consumer group, creating or deleting topics,
changing topic configs, deleting records, and reading or changing ACLs (which stay as planned);
the municipal service can read every answer topic and the commands in its group, write the
questions, refusals, results and dead letters and create the planned topics, and no more
(no partner's answer topic, no commands, no reading questions, refusals, results or dead letters);
the backend only reads results and command replies and writes commands; operators only read
the dead letters; the monitoring user describes every topic, group and committed offset (so
`iaj status` reads lag with it) and reads, writes and joins nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.admin import (
    AlterConfigsRequest,
    CreateAclsRequest,
    DeleteAclsRequest,
    DescribeAclsRequest,
)

from broker.service.consumer_lag import read_lag
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
from devtools.apache_kafka import ApacheKafka
from devtools.generators.kafka_acls import Operation, ResourceType, acl_plan
from devtools.kafka_node import ADMIN
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

pytestmark = pytest.mark.integration

# Every broker call is bounded: a client that hangs instead of failing fails the test.
WITHIN = 30.0
TOPIC_REFUSED = TopicAuthorizationFailedError.errno  # 29
CLUSTER_REFUSED = ClusterAuthorizationFailedError.errno  # 31

# Kafka's wire codes for the fields of an ACL binding (org.apache.kafka.common.acl, .resource).
_RESOURCE = {ResourceType.TOPIC: 2, ResourceType.GROUP: 3}
_OPERATION = {
    Operation.READ: 3,
    Operation.WRITE: 4,
    Operation.CREATE: 5,
    Operation.DESCRIBE: 8,
    Operation.DESCRIBE_CONFIGS: 10,
}
_ANY, _MATCH, _LITERAL, _ALLOW = 1, 2, 3, 3
_TOPIC, _READ = _RESOURCE[ResourceType.TOPIC], _OPERATION[Operation.READ]

# (resource type, resource name, pattern type, principal, host, operation, permission)
Acl = tuple[int, str, int, str, str, int, int]


# --- who is tested, and what each must be refused ----------------------------------------------


@dataclass(frozen=True)
class Login:
    """A deployment user, its consumer group, and a topic it may read in that group."""

    user: str
    group: str
    readable: str

    @property
    def principal(self) -> str:
        return f"User:{self.user}"


def partner_login(partner: Partner) -> Login:
    return Login(partner_user(partner), partner_group(partner), question_topic(partner))


MUNICIPAL_LOGIN = Login(MUNICIPAL, MUNICIPAL_GROUP, COMMANDS)
BACKEND_LOGIN = Login(BACKEND, BACKEND_GROUP, RESULTS)
OPERATOR_LOGIN = Login(OPERATOR, OPERATOR_GROUP, DEADLETTER)
# The monitor has no group of its own: `group` here is one it may describe, never join.
MONITOR_LOGIN = Login(MONITOR, MUNICIPAL_GROUP, RESULTS)


class Verb(StrEnum):
    READ = "read"  # consume the topic in the user's own group
    WRITE = "write"  # produce to the topic
    JOIN = "join"  # join the group (subscribed to a topic the user may read)
    CREATE_TOPIC = "create-topic"
    DELETE_TOPIC = "delete-topic"
    ALTER_CONFIG = "alter-config"  # e.g. retention.ms=1 would purge a topic
    DELETE_RECORDS = "delete-records"
    GRANT = "grant"  # add an ACL: itself Read on the topic
    REVOKE = "revoke"  # delete every ACL on the topic
    LIST_ACLS = "list-acls"


@dataclass(frozen=True)
class Forbidden:
    verb: Verb
    target: str  # a topic, or a group for JOIN

    def __str__(self) -> str:
        return f"{self.verb}:{self.target}"


def _each(verb: Verb, *targets: str) -> list[Forbidden]:
    return [Forbidden(verb, target) for target in targets]


def _unplanned_topic(login: Login) -> str:
    return f"iaj.unplanned.{login.user}"


def next_partner(partner: Partner) -> Partner:
    members = list(Partner)
    return members[(members.index(partner) + 1) % len(members)]


def partner_forbidden(a: Partner) -> list[Forbidden]:
    """What partner `a` must be refused; `b` is another partner (the next one, cyclically)."""
    b = next_partner(a)
    return [
        *_each(
            Verb.READ,
            question_topic(b),
            refusal_topic(b),
            answer_topic(a),
            answer_topic(b),
            RESULTS,
            COMMANDS,
            COMMAND_REPLIES,
            DEADLETTER,
        ),
        *_each(
            Verb.WRITE,
            question_topic(a),
            refusal_topic(a),
            question_topic(b),
            answer_topic(b),
            RESULTS,
            COMMANDS,
            DEADLETTER,
        ),
        *_each(Verb.JOIN, MUNICIPAL_GROUP, partner_group(b), BACKEND_GROUP, OPERATOR_GROUP),
        Forbidden(Verb.CREATE_TOPIC, _unplanned_topic(partner_login(a))),
        *_each(Verb.DELETE_TOPIC, question_topic(a), answer_topic(a), question_topic(b)),
        Forbidden(Verb.ALTER_CONFIG, question_topic(a)),
        Forbidden(Verb.DELETE_RECORDS, question_topic(a)),
        Forbidden(Verb.GRANT, question_topic(b)),
        Forbidden(Verb.REVOKE, question_topic(b)),
        Forbidden(Verb.LIST_ACLS, "*"),
    ]


FIRST = next(iter(Partner))

MUNICIPAL_FORBIDDEN = [
    *_each(Verb.WRITE, *(answer_topic(p) for p in Partner), COMMANDS),
    *_each(Verb.READ, *(question_topic(p) for p in Partner)),
    *_each(Verb.READ, *(refusal_topic(p) for p in Partner), RESULTS, COMMAND_REPLIES, DEADLETTER),
    *_each(Verb.JOIN, *(partner_group(p) for p in Partner), BACKEND_GROUP, OPERATOR_GROUP),
    Forbidden(Verb.CREATE_TOPIC, _unplanned_topic(MUNICIPAL_LOGIN)),
    *_each(Verb.DELETE_TOPIC, question_topic(FIRST), answer_topic(FIRST), RESULTS),
    Forbidden(Verb.ALTER_CONFIG, question_topic(FIRST)),
    Forbidden(Verb.DELETE_RECORDS, question_topic(FIRST)),
    Forbidden(Verb.GRANT, question_topic(FIRST)),
    Forbidden(Verb.REVOKE, answer_topic(FIRST)),
    Forbidden(Verb.LIST_ACLS, "*"),
]

BACKEND_FORBIDDEN = [
    *_each(
        Verb.READ,
        answer_topic(FIRST),
        question_topic(FIRST),
        refusal_topic(FIRST),
        COMMANDS,
        DEADLETTER,
    ),
    *_each(
        Verb.WRITE,
        RESULTS,
        answer_topic(FIRST),
        question_topic(FIRST),
        refusal_topic(FIRST),
        COMMAND_REPLIES,
        DEADLETTER,
    ),
    *_each(Verb.JOIN, MUNICIPAL_GROUP, OPERATOR_GROUP, partner_group(FIRST)),
    Forbidden(Verb.CREATE_TOPIC, _unplanned_topic(BACKEND_LOGIN)),
    *_each(Verb.DELETE_TOPIC, RESULTS, COMMANDS),
    Forbidden(Verb.ALTER_CONFIG, COMMANDS),
    Forbidden(Verb.DELETE_RECORDS, RESULTS),
    Forbidden(Verb.GRANT, answer_topic(FIRST)),
    Forbidden(Verb.REVOKE, RESULTS),
    Forbidden(Verb.LIST_ACLS, "*"),
]

OPERATOR_FORBIDDEN = [
    *_each(
        Verb.READ,
        RESULTS,
        COMMANDS,
        COMMAND_REPLIES,
        answer_topic(FIRST),
        question_topic(FIRST),
        refusal_topic(FIRST),
    ),
    *_each(Verb.WRITE, DEADLETTER, RESULTS, COMMANDS, question_topic(FIRST), answer_topic(FIRST)),
    *_each(Verb.JOIN, MUNICIPAL_GROUP, BACKEND_GROUP, partner_group(FIRST)),
    Forbidden(Verb.CREATE_TOPIC, _unplanned_topic(OPERATOR_LOGIN)),
    Forbidden(Verb.DELETE_TOPIC, DEADLETTER),
    Forbidden(Verb.ALTER_CONFIG, DEADLETTER),
    Forbidden(Verb.DELETE_RECORDS, DEADLETTER),
    Forbidden(Verb.GRANT, RESULTS),
    Forbidden(Verb.REVOKE, DEADLETTER),
    Forbidden(Verb.LIST_ACLS, "*"),
]

# Records: none (see test_the_monitor_reads_no_record); the rest like everyone else.
MONITOR_FORBIDDEN = [
    *_each(
        Verb.WRITE,
        RESULTS,
        COMMANDS,
        COMMAND_REPLIES,
        DEADLETTER,
        question_topic(FIRST),
        answer_topic(FIRST),
        refusal_topic(FIRST),
    ),
    *_each(Verb.JOIN, *all_groups()),
    Forbidden(Verb.CREATE_TOPIC, _unplanned_topic(MONITOR_LOGIN)),
    *_each(Verb.DELETE_TOPIC, RESULTS, question_topic(FIRST)),
    Forbidden(Verb.ALTER_CONFIG, question_topic(FIRST)),
    Forbidden(Verb.DELETE_RECORDS, question_topic(FIRST)),
    Forbidden(Verb.GRANT, question_topic(FIRST)),
    Forbidden(Verb.REVOKE, answer_topic(FIRST)),
    Forbidden(Verb.LIST_ACLS, "*"),
]


# --- the super user, who checks what a refused operation left behind ---------------------------


@pytest.fixture(scope="module")
async def superuser(apache_kafka: ApacheKafka) -> AsyncIterator[Any]:
    """One `AIOKafkaClient` logged in as `admin`, shared by the module (it only looks)."""
    client = AIOKafkaClient(**apache_kafka.client_kwargs(ADMIN))
    async with asyncio.timeout(WITHIN):
        await client.bootstrap()
    yield client
    await client.close()


@asynccontextmanager
async def connected(kafka: ApacheKafka, user: str) -> AsyncIterator[Any]:
    """A bare `AIOKafkaClient` logged in as `user`, for requests no aiokafka client wraps."""
    client = AIOKafkaClient(**kafka.client_kwargs(user))
    try:
        async with asyncio.timeout(WITHIN):
            await client.bootstrap()
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def admin_client(kafka: ApacheKafka, user: str) -> AsyncIterator[Any]:
    admin = AIOKafkaAdminClient(**kafka.client_kwargs(user))
    try:
        async with asyncio.timeout(WITHIN):
            await admin.start()
        yield admin
    finally:
        await admin.close()


async def send(client: Any, request: Any) -> Any:
    async with asyncio.timeout(WITHIN):
        return await client.send(client.get_random_node(), request)


async def visible_topics(client: Any) -> set[str]:
    """The topics `client`'s user gets metadata for (Describe on the topic)."""
    async with asyncio.timeout(WITHIN):
        metadata = await client.fetch_all_metadata()
    return set(metadata.topics())


def planned_acls(*, principal: str | None = None, topic: str | None = None) -> set[Acl]:
    """devtools/generators/kafka_acls.py's bindings, as the broker describes them."""
    return {
        (
            _RESOURCE[b.resource_type],
            b.resource_name,
            _LITERAL,
            b.principal,
            "*",
            _OPERATION[b.operation],
            _ALLOW,
        )
        for p in acl_plan()
        for b in p.bindings
        if principal in (None, b.principal)
        and (topic is None or (b.resource_type, b.resource_name) == (ResourceType.TOPIC, topic))
    }


async def broker_acls(
    superuser: Any, *, principal: str | None = None, topic: str | None = None
) -> set[Acl]:
    """The ACLs the broker holds; for a topic, every one that applies to it (MATCH)."""
    request = DescribeAclsRequest(
        _ANY if topic is None else _TOPIC,
        topic,
        _ANY if topic is None else _MATCH,
        principal,
        None,
        _ANY,
        _ANY,
    )
    response = await send(superuser, request)
    assert response.error_code == 0, response.error_message
    return {
        (resource_type, name, pattern, who, host, operation, permission)
        for resource_type, name, pattern, acls in response.resources
        for who, host, operation, permission in acls
    }


async def restore_acls(superuser: Any, expected: set[Acl], found: set[Acl]) -> None:
    """Undo a change that should have been refused, so it cannot leak into other tests."""
    for acl in expected - found:
        await send(superuser, CreateAclsRequest(*acl))
    for acl in found - expected:
        await send(superuser, DeleteAclsRequest(*acl))


async def settled(superuser: Any) -> None:
    """Returns once the broker's ACL view holds every ACL change committed before the call.

    The broker applies committed ACL changes a moment after it answers (KRaft metadata log).
    The log is ordered, so once a change of our own shows, every earlier one shows too: a
    harmless ACL (nobody's, on no topic) is added and removed, and each waited for.
    """
    barrier = (_TOPIC, f"iaj.barrier.{uuid.uuid4()}", _LITERAL, "User:nobody", "*", _READ, _ALLOW)
    for request, present in ((CreateAclsRequest, True), (DeleteAclsRequest, False)):
        await send(superuser, request(*barrier))
        async with asyncio.timeout(WITHIN):
            while True:
                if (barrier in await broker_acls(superuser, topic=barrier[1])) is present:
                    break
                await asyncio.sleep(0.02)


async def assert_acls_as_planned(
    superuser: Any, *, principal: str | None = None, topic: str | None = None
) -> None:
    expected = planned_acls(principal=principal, topic=topic)
    await settled(superuser)
    found = await broker_acls(superuser, principal=principal, topic=topic)
    if found != expected:
        await restore_acls(superuser, expected, found)
        await settled(superuser)
    assert found == expected


# --- refusals ----------------------------------------------------------------------------------


async def assert_refused(
    kafka: ApacheKafka, superuser: Any, login: Login, forbidden: Forbidden
) -> None:
    verb, target = forbidden.verb, forbidden.target
    if verb is Verb.READ:
        await _assert_read_refused(kafka, login, target)
    elif verb is Verb.WRITE:
        await _assert_write_refused(kafka, login, target)
    elif verb is Verb.JOIN:
        await _assert_join_refused(kafka, login, target)
    elif verb is Verb.CREATE_TOPIC:
        async with admin_client(kafka, login.user) as admin, asyncio.timeout(WITHIN):
            response = await admin.create_topics([NewTopic(target, 1, 1)])
        assert [(t, code) for t, code, *_ in response.topic_errors] == [(target, TOPIC_REFUSED)]
        assert target not in await visible_topics(superuser)
    elif verb is Verb.DELETE_TOPIC:
        async with admin_client(kafka, login.user) as admin, asyncio.timeout(WITHIN):
            response = await admin.delete_topics([target])
        assert [(t, code) for t, code, *_ in response.topic_error_codes] == [
            (target, TOPIC_REFUSED)
        ]
        assert target in await visible_topics(superuser)
    elif verb is Verb.ALTER_CONFIG:
        # validate_only: the broker authorises first, and had it allowed this, changed nothing.
        request = AlterConfigsRequest([(_TOPIC, target, [("retention.ms", "1")])], True)
        async with connected(kafka, login.user) as client:
            response = await send(client, request)
        assert [(name, code) for code, _, _, name, *_ in response.resources] == [
            (target, TOPIC_REFUSED)
        ]
    elif verb is Verb.DELETE_RECORDS:
        # Only the records before offset 0, that is none, had the broker allowed it.
        partition = TopicPartition(target, 0)
        async with admin_client(kafka, login.user) as admin, asyncio.timeout(WITHIN):
            with pytest.raises(TopicAuthorizationFailedError):
                await admin.delete_records({partition: RecordsToDelete(0)})
    elif verb is Verb.GRANT:
        acl = (_TOPIC, target, _LITERAL, login.principal, "*", _READ, _ALLOW)
        async with connected(kafka, login.user) as client:
            response = await send(client, CreateAclsRequest(*acl))
        try:
            assert [code for code, *_ in response.creation_responses] == [CLUSTER_REFUSED]
        finally:  # also when it went through: that ACL must not outlive this test
            await assert_acls_as_planned(superuser, principal=login.principal)
    elif verb is Verb.REVOKE:
        # Every ACL on the topic, whoever holds it.
        request = DeleteAclsRequest(_TOPIC, target, _LITERAL, None, None, _ANY, _ANY)
        async with connected(kafka, login.user) as client:
            response = await send(client, request)
        try:
            assert [(code, list(gone)) for code, _, gone in response.filter_responses] == [
                (CLUSTER_REFUSED, [])
            ]
        finally:  # also when it went through: the ACLs are put back for the other tests
            await assert_acls_as_planned(superuser, topic=target)
    elif verb is Verb.LIST_ACLS:
        async with connected(kafka, login.user) as client:
            response = await send(
                client, DescribeAclsRequest(_ANY, None, _ANY, None, None, _ANY, _ANY)
            )
        assert (response.error_code, list(response.resources)) == (CLUSTER_REFUSED, [])
    else:  # pragma: no cover
        raise AssertionError(f"no check for {verb}")


async def _assert_read_refused(kafka: ApacheKafka, login: Login, topic: str) -> None:
    # In its own group, which it may use: only the topic can be the reason for a refusal.
    consumer = AIOKafkaConsumer(
        topic,
        group_id=login.group,
        enable_auto_commit=False,  # never commits: other tests' offsets stay as they are
        **kafka.client_kwargs(login.user),
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError) as refused:
            await _consume_until_it_fails(consumer)
    finally:
        async with asyncio.timeout(WITHIN):
            await consumer.stop()
    assert refused.value.args == (topic,)


async def _consume_until_it_fails(consumer: Any) -> NoReturn:
    try:
        async with asyncio.timeout(WITHIN):
            # Without Describe on the topic, start() is refused its metadata; with it (e.g. a
            # partner's own answer topic), start() joins the group and the Fetch is refused.
            await consumer.start()
            while True:
                await consumer.getmany(timeout_ms=100)
    except TimeoutError:
        raise AssertionError(f"reading was not refused within {WITHIN:.0f} s") from None


async def _assert_write_refused(kafka: ApacheKafka, login: Login, topic: str) -> None:
    # Not idempotent: its InitProducerId needs Write on some topic (operators have none), and
    # here only the Produce to this topic is to be judged.
    producer = AIOKafkaProducer(acks="all", **kafka.client_kwargs(login.user))
    async with asyncio.timeout(WITHIN):
        await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError) as refused:
            async with asyncio.timeout(WITHIN):
                await producer.send_and_wait(topic, b"forged", key=b"forged")
    finally:
        async with asyncio.timeout(WITHIN):
            await producer.stop()
    assert refused.value.args == (topic,)


async def _assert_join_refused(kafka: ApacheKafka, login: Login, group: str) -> None:
    consumer = AIOKafkaConsumer(
        login.readable,
        group_id=group,
        enable_auto_commit=False,
        **kafka.client_kwargs(login.user),
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError) as refused:
            async with asyncio.timeout(WITHIN):
                await consumer.start()
    finally:
        async with asyncio.timeout(WITHIN):
            await consumer.stop()
    assert refused.value.args == (group,)


# --- what is allowed: records that make the round trip -----------------------------------------


@dataclass(frozen=True)
class Marker:
    """A record with a unique key, and where the broker put it."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


async def send_markers(kafka: ApacheKafka, user: str, topics: Iterable[str]) -> list[Marker]:
    """One unique record per topic, sent as `user` the way the deployment's clients send."""
    producer = AIOKafkaProducer(enable_idempotence=True, acks="all", **kafka.client_kwargs(user))
    markers = []
    async with asyncio.timeout(WITHIN):
        await producer.start()
        try:
            for topic in topics:
                key = f"acl-test-{uuid.uuid4()}".encode()
                value = f"marker for {topic} from {user}".encode()
                sent = await producer.send_and_wait(topic, value, key=key)
                markers.append(Marker(topic, sent.partition, sent.offset, key, value))
        finally:
            await producer.stop()
    return markers


class _StartAtMarkers(ConsumerRebalanceListener):  # type: ignore[misc]
    """Positions each assigned partition at its first marker; the others stay at their end."""

    def __init__(self, consumer: Any, markers: Sequence[Marker]) -> None:
        self._consumer = consumer
        self._starts: dict[Any, int] = {}
        for m in markers:
            tp = TopicPartition(m.topic, m.partition)
            self._starts[tp] = min(m.offset, self._starts.get(tp, m.offset))

    async def on_partitions_revoked(self, revoked: object) -> None:
        pass

    async def on_partitions_assigned(self, assigned: Iterable[Any]) -> None:
        for tp in assigned:
            if tp in self._starts:
                self._consumer.seek(tp, self._starts[tp])


async def read_markers(kafka: ApacheKafka, login: Login, markers: Sequence[Marker]) -> None:
    """Reads every marker back as `login.user` in its consumer group, committing nothing."""
    consumer = AIOKafkaConsumer(
        group_id=login.group,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        **kafka.client_kwargs(login.user),
    )
    consumer.subscribe(
        topics=sorted({m.topic for m in markers}), listener=_StartAtMarkers(consumer, markers)
    )
    wanted = {(m.topic, m.key, m.value) for m in markers}
    seen: set[tuple[str, bytes, bytes]] = set()
    try:
        async with asyncio.timeout(WITHIN):
            await consumer.start()
            while not wanted <= seen:
                batch = await consumer.getmany(timeout_ms=200)
                seen |= {(r.topic, r.key, r.value) for rs in batch.values() for r in rs}
    except TimeoutError:
        missing = sorted(topic for topic, _, _ in wanted - seen)
        raise AssertionError(f"{login.user} did not read its markers on {missing}") from None
    finally:
        async with asyncio.timeout(WITHIN):
            await consumer.stop()


# --- the tests ---------------------------------------------------------------------------------


async def test_the_broker_holds_exactly_the_planned_acls(superuser: Any) -> None:
    """What every test below relies on: the deploy scripts granted the planned ACLs."""
    assert await broker_acls(superuser) == planned_acls()


@pytest.mark.parametrize("partner", list(Partner), ids=[p.value for p in Partner])
async def test_a_partner_reads_its_questions_and_refusals_and_writes_its_answers(
    apache_kafka: ApacheKafka, partner: Partner
) -> None:
    login = partner_login(partner)
    own = {question_topic(partner), refusal_topic(partner), answer_topic(partner)}
    inbound = await send_markers(
        apache_kafka, MUNICIPAL, [question_topic(partner), refusal_topic(partner)]
    )
    await read_markers(apache_kafka, login, inbound)
    [answer] = await send_markers(apache_kafka, login.user, [answer_topic(partner)])
    assert answer.offset >= 0
    async with connected(apache_kafka, login.user) as client:
        # Other partners' topics are not even named to it.
        assert await visible_topics(client) == own


@pytest.mark.parametrize(
    ("partner", "forbidden"),
    [
        pytest.param(partner, forbidden, id=f"{partner.value}-{forbidden}")
        for partner in Partner
        for forbidden in partner_forbidden(partner)
    ],
)
async def test_a_partner_is_refused(
    apache_kafka: ApacheKafka, superuser: Any, partner: Partner, forbidden: Forbidden
) -> None:
    await assert_refused(apache_kafka, superuser, partner_login(partner), forbidden)


async def test_the_municipal_service_reads_answers_and_commands_and_writes_the_rest(
    apache_kafka: ApacheKafka,
) -> None:
    answers = [
        marker
        for partner in Partner
        for marker in await send_markers(
            apache_kafka, partner_user(partner), [answer_topic(partner)]
        )
    ]
    commands = await send_markers(apache_kafka, BACKEND, [COMMANDS])
    await read_markers(apache_kafka, MUNICIPAL_LOGIN, [*answers, *commands])

    outbound = [
        *(question_topic(p) for p in Partner),
        *(refusal_topic(p) for p in Partner),
        RESULTS,
        COMMAND_REPLIES,
        DEADLETTER,
    ]
    sent = await send_markers(apache_kafka, MUNICIPAL, outbound)
    assert [m.topic for m in sent] == outbound

    # At start-up the service creates the topics: allowed, so the broker says they exist.
    async with admin_client(apache_kafka, MUNICIPAL) as admin, asyncio.timeout(WITHIN):
        response = await admin.create_topics([NewTopic(t, 3, 1) for t in all_topics()])
    assert {code for _, code, *_ in response.topic_errors} == {TopicAlreadyExistsError.errno}
    async with connected(apache_kafka, MUNICIPAL) as client:
        assert await visible_topics(client) == set(all_topics())


@pytest.mark.parametrize("forbidden", MUNICIPAL_FORBIDDEN, ids=str)
async def test_the_municipal_service_is_refused(
    apache_kafka: ApacheKafka, superuser: Any, forbidden: Forbidden
) -> None:
    await assert_refused(apache_kafka, superuser, MUNICIPAL_LOGIN, forbidden)


async def test_the_backend_reads_results_and_replies_and_writes_commands(
    apache_kafka: ApacheKafka,
) -> None:
    results = await send_markers(apache_kafka, MUNICIPAL, [RESULTS, COMMAND_REPLIES])
    await read_markers(apache_kafka, BACKEND_LOGIN, results)
    [command] = await send_markers(apache_kafka, BACKEND, [COMMANDS])
    assert command.offset >= 0
    async with connected(apache_kafka, BACKEND) as client:
        assert await visible_topics(client) == {RESULTS, COMMANDS, COMMAND_REPLIES}


@pytest.mark.parametrize("forbidden", BACKEND_FORBIDDEN, ids=str)
async def test_the_backend_is_refused(
    apache_kafka: ApacheKafka, superuser: Any, forbidden: Forbidden
) -> None:
    await assert_refused(apache_kafka, superuser, BACKEND_LOGIN, forbidden)


async def test_operators_read_the_dead_letters(apache_kafka: ApacheKafka) -> None:
    letters = await send_markers(apache_kafka, MUNICIPAL, [DEADLETTER])
    await read_markers(apache_kafka, OPERATOR_LOGIN, letters)
    async with connected(apache_kafka, OPERATOR) as client:
        assert await visible_topics(client) == {DEADLETTER}


@pytest.mark.parametrize("forbidden", OPERATOR_FORBIDDEN, ids=str)
async def test_operators_are_refused(
    apache_kafka: ApacheKafka, superuser: Any, forbidden: Forbidden
) -> None:
    await assert_refused(apache_kafka, superuser, OPERATOR_LOGIN, forbidden)


async def test_the_monitor_describes_topics_groups_offsets_and_lag(
    apache_kafka: ApacheKafka,
) -> None:
    """What a lag exporter, a console and `iaj status` need, as `iaj-monitor`."""
    partner = FIRST
    [question] = await send_markers(apache_kafka, MUNICIPAL, [question_topic(partner)])
    # The partner's adapter consumes up to (not including) the marker and commits that.
    tp = TopicPartition(question.topic, question.partition)
    adapter = AIOKafkaConsumer(
        group_id=partner_group(partner),
        enable_auto_commit=False,
        **apache_kafka.client_kwargs(partner_user(partner)),
    )
    async with asyncio.timeout(WITHIN):
        await adapter.start()
        try:
            adapter.assign([tp])
            await adapter.commit({tp: question.offset})
        finally:
            await adapter.stop()

    async with connected(apache_kafka, MONITOR) as client:
        assert await visible_topics(client) == set(all_topics())
    async with admin_client(apache_kafka, MONITOR) as admin, asyncio.timeout(WITHIN):
        listed = {group for group, *_ in await admin.list_consumer_groups()}
        assert partner_group(partner) in listed
        offsets = await admin.list_consumer_group_offsets(partner_group(partner), partitions=[tp])
        assert offsets[tp].offset == question.offset
        [described] = await admin.describe_consumer_groups([partner_group(partner)])
        assert [error for error, *_ in described.groups] == [0]
        [configs] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, question.topic)]
        )
        assert [error for error, *_ in configs.resources] == [0]

    login: dict[str, Any] = dict(apache_kafka.client_kwargs(MONITOR))
    lag = await read_lag(
        login.pop("bootstrap_servers"),
        silent_after=dt.timedelta(hours=6),
        now=dt.datetime.now(dt.UTC),
        **login,
    )
    [adapter_lag] = [a for a in lag.adapters if a.partner is partner]
    assert adapter_lag.lag >= 1  # at least the marker
    assert adapter_lag.committed is not None
    assert not adapter_lag.stale  # the marker is seconds old, not six hours


@pytest.mark.parametrize(
    "topic",
    [RESULTS, COMMANDS, COMMAND_REPLIES, DEADLETTER, question_topic(FIRST), answer_topic(FIRST)],
)
async def test_the_monitor_reads_no_record(apache_kafka: ApacheKafka, topic: str) -> None:
    """Describe lets it see the topic and its offsets; fetching a record is refused."""
    [marker] = await send_markers(
        apache_kafka,
        partner_user(FIRST)
        if topic == answer_topic(FIRST)
        else BACKEND
        if topic == COMMANDS
        else MUNICIPAL,
        [topic],
    )
    tp = TopicPartition(topic, marker.partition)
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **apache_kafka.client_kwargs(MONITOR))
    async with asyncio.timeout(WITHIN):
        await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, marker.offset)
        with pytest.raises(TopicAuthorizationFailedError) as refused:
            await _fetch_until_it_fails(consumer)
    finally:
        async with asyncio.timeout(WITHIN):
            await consumer.stop()
    assert refused.value.args == (topic,)


async def _fetch_until_it_fails(consumer: Any) -> NoReturn:
    try:
        async with asyncio.timeout(WITHIN):
            while True:
                await consumer.getmany(timeout_ms=100)
    except TimeoutError:
        raise AssertionError(f"fetching was not refused within {WITHIN:.0f} s") from None


@pytest.mark.parametrize("forbidden", MONITOR_FORBIDDEN, ids=str)
async def test_the_monitor_is_refused(
    apache_kafka: ApacheKafka, superuser: Any, forbidden: Forbidden
) -> None:
    await assert_refused(apache_kafka, superuser, MONITOR_LOGIN, forbidden)
