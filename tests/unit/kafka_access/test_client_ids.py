"""Every Kafka client names the service or the partner it belongs to (`client.id`), so Kafka's
tools show `iaj-adapter-cjg` rather than `faststream-0.7.8-<uuid>`. The running service's
consumer is checked on a broker in tests/integration/broker/service/test_backend_kit.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from broker.service.municipal import MunicipalService
from broker.settings import ServiceSettings
from contracts.enums import Partner
from kafka_access.principals import (
    MUNICIPAL_CLIENT,
    RELAY_CLIENT,
    STATUS_CLIENT,
    TOPIC_ADMIN_CLIENT,
    partner_client,
)
from partner_adapters.kafka_io import make_kafka_broker
from partner_adapters.settings import AdapterSettings

ROOT = Path(__file__).resolve().parents[3]
KAFKA_CLIENTS = {"KafkaBroker", "AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}


@pytest.mark.parametrize("partner", list(Partner))
def test_an_adapter_names_its_partner(partner: Partner) -> None:
    broker = make_kafka_broker(AdapterSettings(partner=partner))
    assert broker.config.client_id == partner_client(partner) == f"iaj-adapter-{partner.value}"


def test_the_service_consumer_names_the_service(tmp_path: Path) -> None:
    settings = ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'iaj.db'}")
    service = MunicipalService(settings)
    assert service.broker.config.client_id == MUNICIPAL_CLIENT == "iaj-municipal"


def test_the_client_ids_are_distinct_and_say_whose() -> None:
    ids = [MUNICIPAL_CLIENT, RELAY_CLIENT, TOPIC_ADMIN_CLIENT, STATUS_CLIENT]
    ids += [partner_client(p) for p in Partner]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("iaj-") for i in ids)


@pytest.mark.parametrize("package", ["broker", "partner_adapters", "kafka_access"])
def test_every_kafka_client_the_installed_code_builds_passes_a_client_id(package: str) -> None:
    """Read from the source: a new client without `client_id=` fails here."""
    missing = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            named = any(k.arg == "client_id" for k in node.keywords)
            passed_on = any(k.arg is None for k in node.keywords)  # **options may carry it
            if name in KAFKA_CLIENTS and not (named or passed_on):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert missing == []
