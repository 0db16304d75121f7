"""docker-compose.yml, checked without Docker: every service is configured with real settings.

No Docker engine runs here, so these tests read the files instead: the compose file, the
Kafka properties, the Dockerfile and .env.example.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from broker.service.partner_keys import load_partner_keys
from broker.settings import ServiceSettings
from contracts.enums import Partner
from devtools.generators.kafka_acls import acl_plan, password_variable
from devtools.kafka_jars import kafka_jars
from kafka_access.principals import partner_user
from kafka_access.security import kafka_security
from partner_adapters.settings import AdapterSettings
from partner_adapters.signing_key import load_signer

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[3]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ENV_EXAMPLE = dict(
    line.split("=", 1)
    for line in (ROOT / ".env.example").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    assert isinstance(env, dict), f"{service}: write environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def interpolated(value: str) -> str:
    """The value as compose sees it with .env copied from .env.example."""
    return _REFERENCE.sub(lambda m: ENV_EXAMPLE[m.group(1)], value)


def settings_class(name: str) -> type[BaseSettings]:
    adapter_prefix = AdapterSettings.model_config.get("env_prefix", "")
    return AdapterSettings if name.startswith(adapter_prefix) else ServiceSettings


def field_of(name: str) -> str:
    prefix = settings_class(name).model_config.get("env_prefix", "")
    return name.removeprefix(prefix).lower()


def settings_of(service: str) -> BaseSettings:
    """The service's settings as its process would build them from this environment."""
    env = {k: interpolated(v) for k, v in environment(service).items() if k.startswith("IAJ_")}
    classes = {settings_class(name) for name in env}
    assert len(classes) == 1, f"{service} mixes IAJ_ and IAJ_ADAPTER_ settings"
    [cls] = classes
    values = {field_of(k): v for k, v in env.items() if field_of(k) in cls.model_fields}
    return cls.model_validate(values)  # no environment, no .env: only what compose sets


ADAPTERS = {
    environment(name)["IAJ_ADAPTER_PARTNER"]: name
    for name in SERVICES
    if "IAJ_ADAPTER_PARTNER" in environment(name)
}


def test_every_partner_has_one_adapter_service() -> None:
    assert sorted(ADAPTERS) == sorted(p.value for p in Partner)
    assert len(ADAPTERS) == len([s for s in SERVICES if s.startswith("adapter-")])


@pytest.mark.parametrize("partner", list(Partner))
def test_each_adapter_logs_in_as_its_own_user(partner: Partner) -> None:
    service = ADAPTERS[partner.value]
    env = environment(service)
    assert env["IAJ_ADAPTER_SASL_USERNAME"] == f"partner-{partner.value}" == partner_user(partner)
    variable = password_variable(partner_user(partner))
    assert env["IAJ_ADAPTER_SASL_PASSWORD"].startswith(f"${{{variable}:?")
    assert SERVICES[service]["command"] == ["run"]  # the image runs `iaj-adapter`
    settings = settings_of(service)
    assert isinstance(settings, AdapterSettings)
    assert settings.partner is partner


def test_no_two_services_share_a_kafka_user_or_a_state_volume() -> None:
    users = [environment(s)["IAJ_ADAPTER_SASL_USERNAME"] for s in ADAPTERS.values()]
    users.append(environment("iaj")["IAJ_KAFKA_SASL_USERNAME"])
    assert len(users) == len(set(users))
    volumes = [
        tuple(v for v in SERVICES[s]["volumes"] if v != KEYS_MOUNT) for s in ADAPTERS.values()
    ]
    assert len(volumes) == len(set(volumes))
    state_dirs = {v.split(":", 1)[1] for vs in volumes for v in vs}
    state_db = {str(settings_of(s).state_db) for s in ADAPTERS.values()}  # type: ignore[attr-defined]
    assert state_dirs == {"/var/lib/iaj-adapter"}
    assert state_db == {"/var/lib/iaj-adapter/state.db"}


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_iaj_variable_is_a_settings_field(service: str) -> None:
    unknown = [
        name
        for name in environment(service)
        if name.startswith("IAJ_") and field_of(name) not in settings_class(name).model_fields
    ]
    assert unknown == [], f"{service}: not a setting: {unknown}"
    if any(name.startswith("IAJ_") for name in environment(service)):
        settings_of(service)  # and the values are valid


@pytest.mark.parametrize("service", ["iaj", *sorted(ADAPTERS.values())])
def test_clients_log_in_with_scram_512_and_produce_idempotently(service: str) -> None:
    env = {k: interpolated(v) for k, v in environment(service).items()}
    prefix = "IAJ_KAFKA_" if service == "iaj" else "IAJ_ADAPTER_"
    security, kwargs = kafka_security(
        env[f"{prefix}SECURITY_PROTOCOL"],
        env[f"{prefix}SASL_MECHANISM"],
        env[f"{prefix}SASL_USERNAME"],
        env[f"{prefix}SASL_PASSWORD"],
    )
    assert security is not None
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    settings = settings_of(service)
    if isinstance(settings, ServiceSettings):
        assert settings.producer_idempotence
        assert settings.producer_acks == "all"
        assert settings.kafka_bootstrap == "kafka:9092"
        assert settings.database_url.startswith("postgresql+asyncpg://iaj:")
    else:
        assert isinstance(settings, AdapterSettings)
        assert settings.enable_idempotence  # acks=all is fixed in partner_adapters.kafka_io
        assert settings.kafka_bootstrap == "kafka:9092"


def test_every_kafka_user_has_a_placeholder_password_and_none_is_written_in_compose() -> None:
    for principal in acl_plan():
        assert password_variable(principal.user) in ENV_EXAMPLE
    assert "KAFKA_PASSWORD_ADMIN" in ENV_EXAMPLE
    assert all(value.startswith("change-me-") for value in ENV_EXAMPLE.values())
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in _REFERENCE.findall(text):
        assert variable in ENV_EXAMPLE, f"{variable} is used in docker-compose.yml"
    for service in SERVICES:
        for name, value in environment(service).items():
            if "PASSWORD" in name:
                assert _REFERENCE.fullmatch(value), f"{service}: {name} must come from .env"
    assert "change-me" not in text
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def _properties() -> dict[str, str]:
    lines = (ROOT / "deploy/kafka/server.properties").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def test_kafka_runs_kraft_with_sasl_only_and_the_standard_authorizer() -> None:
    kafka = SERVICES["kafka"]
    # The version the Apache Kafka tests run (from the Maven jars) is the one compose ships.
    assert kafka["image"] == f"apache/kafka:{kafka_jars().version}"
    assert SERVICES["kafka-init"]["image"] == kafka["image"]
    # The entry points the tests' launcher (devtools/apache_kafka.py) runs too.
    assert kafka["command"] == ["/bin/sh", "/etc/iaj/kafka/start.sh"]
    assert SERVICES["kafka-init"]["command"] == ["/bin/sh", "/etc/iaj/kafka-init.sh"]
    assert "./deploy:/etc/iaj:ro" in kafka["volumes"]
    props = _properties()
    assert props["process.roles"] == "broker,controller"
    assert "zookeeper.connect" not in props
    assert props["controller.quorum.voters"] == f"{props['node.id']}@kafka:9093"
    assert props["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin"
    assert props["auto.create.topics.enable"] == "false"
    protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}  # no PLAINTEXT listener at all
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert "INTERNAL://kafka:9092" in props["advertised.listeners"].split(",")
    assert not [value for value in props.values() if "password" in value.lower()]


def test_the_admin_credential_is_created_when_the_storage_is_formatted() -> None:
    start = (ROOT / "deploy/kafka/start.sh").read_text()
    assert 'kafka-storage.sh" format --ignore-formatted' in start
    assert '--add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_PASSWORD_ADMIN}]"' in start
    assert environment("kafka")["KAFKA_PASSWORD_ADMIN"].startswith("${KAFKA_PASSWORD_ADMIN:?")


def test_the_init_job_applies_the_generated_files_before_any_client_starts() -> None:
    init = SERVICES["kafka-init"]
    assert init["command"] == ["/bin/sh", "/etc/iaj/kafka-init.sh"]
    assert "./deploy:/etc/iaj:ro" in init["volumes"]
    script = (ROOT / "deploy/kafka-init.sh").read_text()
    steps = ("kafka-users.sh", "kafka-topics.sh", "kafka-acls.sh")
    order = [script.index(f'"$HERE/{name}"') for name in steps]
    assert order == sorted(order)
    clients = ["iaj", *ADAPTERS.values()]
    for service in clients:
        depends = SERVICES[service]["depends_on"]
        assert depends["kafka-init"] == {"condition": "service_completed_successfully"}
    assert SERVICES["iaj"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    # The init job creates topics with the partition count the service expects.
    for name in ("IAJ_TOPIC_PARTITIONS", "IAJ_TOPIC_REPLICATION_FACTOR"):
        assert environment("kafka-init")[name] == environment("iaj")[name]


def test_postgres_16_is_the_municipal_database() -> None:
    postgres = SERVICES["postgres"]
    assert postgres["image"] == "postgres:16"
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "healthcheck" in postgres


def test_the_images_install_the_locked_wheels_and_run_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    targets = re.findall(r"^FROM \S+ AS (\S+)", dockerfile, re.MULTILINE)
    assert targets == ["build", "runtime", "adapter", "service"]  # `docker build .`: service
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users == ["iaj", "iaj"]
    # Every pip install takes a lock with hashes, or a wheel of ours without dependencies.
    for install in re.findall(r"pip install [^&\n]*", dockerfile):
        assert "--require-hashes" in install or "--no-deps" in install, install
    assert "/wheels/iaj_partner_adapter-" in dockerfile
    assert "/wheels/iaj_broker-" in dockerfile
    # Nothing of the dev tools or the tests is copied in.
    assert not re.search(r"^COPY (devtools|tests)", dockerfile, re.MULTILINE)
    assert '"/var/lib/iaj-adapter"' not in dockerfile  # no anonymous volume in the service
    assert "install -d -o iaj" in dockerfile  # the adapter's state dir belongs to that user


def test_compose_runs_the_adapters_from_the_partner_image() -> None:
    targets = {name: service["build"]["target"] for name, service in SERVICES.items()
               if "build" in service}  # fmt: skip
    assert targets.pop("iaj") == "service"
    assert targets.pop("signing-keys") == "adapter"
    assert set(targets.values()) == {"adapter"}
    assert set(targets) == set(ADAPTERS.values())  # one per partner
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv", ".git"} <= set(ignored)


def test_the_compose_file_is_valid_against_the_compose_specification(tmp_path: Path) -> None:
    """The schema `docker compose` itself validates against (vendored by check-jsonschema);
    a broken file fails here, and a deliberately broken copy proves the check can fail."""
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    valid = subprocess.run(
        [*check, str(ROOT / "docker-compose.yml")], capture_output=True, text=True, check=False
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml").read_text().replace("depends_on:", "depends_upon:", 1)
    )
    invalid = subprocess.run([*check, str(broken)], capture_output=True, text=True, check=False)
    assert invalid.returncode == 1, invalid.stdout + invalid.stderr
    assert "depends_upon" in invalid.stdout


def test_the_service_and_every_adapter_have_a_readiness_healthcheck_on_their_ops_port() -> None:
    """The check asks /health/ready with Python's urllib (the slim images have no curl) on
    the port the process serves (IAJ_OPS_PORT, IAJ_ADAPTER_OPS_PORT)."""
    ports = {"iaj": (environment("iaj"), "IAJ_OPS_PORT")}
    ports |= {s: (environment(s), "IAJ_ADAPTER_OPS_PORT") for s in ADAPTERS.values()}
    for service, (env, setting) in ports.items():
        port = int(env[setting])
        assert port > 0, service
        check = SERVICES[service]["healthcheck"]
        assert check["test"][:3] == ["CMD", "python", "-c"], service
        assert f"http://127.0.0.1:{port}/health/ready" in check["test"][3], service
        assert "urllib.request.urlopen" in check["test"][3], service
        script = check["test"][3].replace(f"127.0.0.1:{port}", "127.0.0.1:9")
        compile(script, service, "exec")  # valid Python
    assert "127.0.0.1:9464:9464" in SERVICES["iaj"]["ports"]


KEYS_MOUNT = "signing-keys:/keys:ro"


def test_every_adapter_signs_with_its_own_key_and_the_service_has_the_public_ones() -> None:
    for partner, service in ADAPTERS.items():
        assert environment(service)["IAJ_ADAPTER_SIGNING_KEY"] == f"/keys/private/{partner}.key"
        assert KEYS_MOUNT in SERVICES[service]["volumes"]
        assert SERVICES[service]["depends_on"]["signing-keys"] == {
            "condition": "service_completed_successfully"
        }
    assert environment("iaj")["IAJ_PARTNER_KEYS_DIR"] == "/keys/public"
    assert KEYS_MOUNT in SERVICES["iaj"]["volumes"]
    assert "signing-keys" in SERVICES["iaj"]["depends_on"]


def test_the_key_job_makes_a_key_per_partner_where_both_sides_read_them(tmp_path: Path) -> None:
    """deploy/signing-keys.sh, run here as the compose job runs it (twice: keys are kept)."""
    env = {**os.environ, "KEYS": str(tmp_path), "PYTHON": sys.executable}
    script = ROOT / "deploy" / "signing-keys.sh"
    first = subprocess.run(["/bin/sh", str(script)], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    keys = load_partner_keys(tmp_path / "public")
    assert set(keys) == set(Partner)
    for partner in Partner:
        signer = load_signer(tmp_path / "private" / f"{partner.value}.key")
        assert set(keys[partner]) == {signer.key_id}
        assert stat.S_IMODE((tmp_path / "private" / f"{partner.value}.key").stat().st_mode) == 0o400
    again = subprocess.run(["/bin/sh", str(script)], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert load_partner_keys(tmp_path / "public") == keys
