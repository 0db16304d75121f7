"""The generated deployment scripts: checked in, current, and granting exactly the plan.

Kafka cannot run here, so the scripts are run with stand-ins for kafka-acls.sh and friends
that record their arguments; what they were asked to do is compared with the plan.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broker.settings import ServiceSettings
from contracts.topics import DEADLETTER, all_topics
from devtools.generators.deploy_command import DEPLOY_FILES, app
from devtools.generators.kafka_acls import (
    AclBinding,
    Operation,
    ResourceType,
    acl_plan,
    password_variable,
    render_kafka_acls,
)
from devtools.generators.kafka_topics import (
    DEADLETTER_RETENTION,
    TRANSPORT_RETENTION,
    render_kafka_topics,
    topic_specs,
)

ROOT = Path(__file__).resolve().parents[4]
DEPLOY = ROOT / "deploy"
SH = shutil.which("sh")
needs_sh = pytest.mark.skipif(SH is None, reason="no POSIX shell")


@pytest.mark.parametrize("name", list(DEPLOY_FILES))
def test_checked_in_file_is_current(name: str) -> None:
    path = DEPLOY / name
    hint = f"{path} is out of date: run `make deploy-files` and commit the result"
    assert path.is_file(), hint
    assert path.read_text(encoding="utf-8") == DEPLOY_FILES[name](), hint


def _stand_ins(tmp_path: Path, *tools: str) -> tuple[Path, Path]:
    """A KAFKA_BIN of scripts that record their name and arguments instead of running Kafka."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in tools:
        stand_in = bin_dir / tool
        # Name, then one argument per line, then a blank line (no argument has a newline).
        stand_in.write_text(
            "#!/bin/sh\n"
            f'{{ echo {tool}; for a in "$@"; do printf "%s\\n" "$a"; done; echo; }} >> {calls}\n'
        )
        stand_in.chmod(0o755)
    return bin_dir, calls


def _calls(calls: Path) -> list[list[str]]:
    return [block.splitlines() for block in calls.read_text().split("\n\n") if block.strip()]


def _run(script: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert SH is not None
    return subprocess.run(
        [SH, str(script), *args],
        env={"PATH": os.environ.get("PATH", ""), **env},
        check=True,
        capture_output=True,
        text=True,
    )


def _run_with_recorder(
    tmp_path: Path, script: str, tool: str, env: dict[str, str]
) -> list[list[str]]:
    """Run a generated `script` against a stand-in `tool`; return each call's arguments."""
    bin_dir, calls = _stand_ins(tmp_path, tool)
    script_path = tmp_path / "script.sh"
    script_path.write_text(script)
    _run(script_path, "kafka:9092", "/tmp/admin.properties", env={"KAFKA_BIN": str(bin_dir), **env})
    return [args[1:] for args in _calls(calls)]


def _options(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == name]


@needs_sh
def test_the_acl_script_grants_exactly_the_plan(tmp_path: Path) -> None:
    plan = acl_plan()
    calls = _run_with_recorder(tmp_path, render_kafka_acls(plan), "kafka-acls.sh", {})
    granted = set()
    for args in calls:
        assert _options(args, "--bootstrap-server") == ["kafka:9092"]
        assert _options(args, "--command-config") == ["/tmp/admin.properties"]
        assert "--add" in args
        assert "--remove" not in args
        assert "--resource-pattern-type" not in args  # LITERAL, the default
        [principal] = _options(args, "--allow-principal")
        resources = [(ResourceType.TOPIC, n) for n in _options(args, "--topic")]
        resources += [(ResourceType.GROUP, n) for n in _options(args, "--group")]
        assert resources
        # kafka-acls.sh grants every listed operation on every listed resource.
        for operation in _options(args, "--operation"):
            for kind, name in resources:
                granted.add(AclBinding(principal, kind, name, Operation(operation)))
    assert granted == {b for p in plan for b in p.bindings}


@needs_sh
def test_the_topic_script_creates_every_topic_with_its_retention(tmp_path: Path) -> None:
    env = {"IAJ_TOPIC_PARTITIONS": "6", "IAJ_TOPIC_REPLICATION_FACTOR": "3"}
    calls = _run_with_recorder(tmp_path, render_kafka_topics(topic_specs()), "kafka-topics.sh", env)
    created = {}
    for args in calls:
        assert {"--create", "--if-not-exists"} <= set(args)
        assert _options(args, "--partitions") == ["6"]
        assert _options(args, "--replication-factor") == ["3"]
        [topic] = _options(args, "--topic")
        created[topic] = dict(c.split("=", 1) for c in _options(args, "--config"))
    assert list(created) == all_topics()
    for topic, config in created.items():
        days = DEADLETTER_RETENTION if topic == DEADLETTER else TRANSPORT_RETENTION
        assert config == {
            "retention.ms": str(int(days.total_seconds() * 1000)),
            "cleanup.policy": "delete",
        }


def test_personal_data_is_kept_past_the_deadline_but_not_for_long() -> None:
    deadline = ServiceSettings.model_fields["round_deadline"].default
    assert deadline < TRANSPORT_RETENTION <= deadline * 2
    assert DEADLETTER_RETENTION <= TRANSPORT_RETENTION


@needs_sh
def test_the_user_script_sets_each_users_password_from_its_own_variable(tmp_path: Path) -> None:
    plan = acl_plan()
    env = {password_variable(p.user): f"pw-{p.user}" for p in plan}
    calls = _run_with_recorder(tmp_path, DEPLOY_FILES["kafka-users.sh"](), "kafka-configs.sh", env)
    seen = {}
    for args in calls:
        assert "--alter" in args
        assert _options(args, "--entity-type") == ["users"]
        [user] = _options(args, "--entity-name")
        [config] = _options(args, "--add-config")
        seen[user] = config
    assert seen == {p.user: f"SCRAM-SHA-512=[password=pw-{p.user}]" for p in plan}


@needs_sh
def test_the_user_script_stops_when_a_password_is_missing(tmp_path: Path) -> None:
    plan = acl_plan()
    env = {password_variable(p.user): "pw" for p in plan[:-1]}
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _run_with_recorder(tmp_path, DEPLOY_FILES["kafka-users.sh"](), "kafka-configs.sh", env)
    assert f"{password_variable(plan[-1].user)} is not set" in failed.value.stderr


@needs_sh
@pytest.mark.parametrize(
    "path", sorted([*DEPLOY.glob("*.sh"), *DEPLOY.glob("*/*.sh")]), ids=lambda p: p.name
)
def test_every_script_is_valid_posix_shell(path: Path) -> None:
    assert SH is not None
    subprocess.run([SH, "-n", str(path)], check=True)


@needs_sh
def test_kafka_starts_with_the_admin_credential_formatted_in(tmp_path: Path) -> None:
    bin_dir, calls = _stand_ins(tmp_path, "kafka-storage.sh")
    server = bin_dir / "kafka-server-start.sh"  # keeps a copy of the properties it was given
    server.write_text(
        f'#!/bin/sh\ncp "$1" {tmp_path}/started.properties\necho "$1" > {calls}.path\n'
    )
    server.chmod(0o755)
    env = {
        "KAFKA_BIN": str(bin_dir),
        "CLUSTER_ID": "4L6g3nShT-eMCtK--X86sw",
        "KAFKA_PASSWORD_ADMIN": "pw-admin",
    }
    _run(DEPLOY / "kafka" / "start.sh", env=env)

    [format_call] = _calls(calls)
    assert format_call[:3] == ["kafka-storage.sh", "format", "--ignore-formatted"]
    assert _options(format_call, "--cluster-id") == ["4L6g3nShT-eMCtK--X86sw"]
    assert _options(format_call, "--add-scram") == ["SCRAM-SHA-512=[name=admin,password=pw-admin]"]
    [config] = _options(format_call, "--config")
    assert Path(f"{calls}.path").read_text().strip() == config  # the server reads the same file
    assert Path(config).stat().st_mode & 0o077 == 0  # it holds the admin password
    started = (tmp_path / "started.properties").read_text()
    assert started.startswith((DEPLOY / "kafka" / "server.properties").read_text())
    assert 'username="admin" password="pw-admin";' in started
    assert 'user_admin="pw-admin";' in started


@needs_sh
def test_kafka_does_not_start_without_an_admin_password(tmp_path: Path) -> None:
    bin_dir, calls = _stand_ins(tmp_path, "kafka-storage.sh", "kafka-server-start.sh")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _run(DEPLOY / "kafka" / "start.sh", env={"KAFKA_BIN": str(bin_dir), "CLUSTER_ID": "x"})
    assert "KAFKA_PASSWORD_ADMIN is not set" in failed.value.stderr
    assert not calls.exists()


@needs_sh
def test_the_init_job_waits_then_creates_users_topics_and_acls(tmp_path: Path) -> None:
    tools = ("kafka-broker-api-versions.sh", "kafka-configs.sh", "kafka-topics.sh", "kafka-acls.sh")
    bin_dir, calls = _stand_ins(tmp_path, *tools)
    env_example = (ROOT / ".env.example").read_text().splitlines()
    env = dict(line.split("=", 1) for line in env_example if line and not line.startswith("#"))
    env |= {"KAFKA_BIN": str(bin_dir), "KAFKA_BOOTSTRAP": "kafka:9092"}
    _run(DEPLOY / "kafka-init.sh", env=env)

    made = _calls(calls)
    tools_in_order = [call[0] for call in made]
    assert tools_in_order == [
        "kafka-broker-api-versions.sh",
        *["kafka-configs.sh"] * len(acl_plan()),
        *["kafka-topics.sh"] * len(all_topics()),
        *["kafka-acls.sh"] * (len(tools_in_order) - 1 - len(acl_plan()) - len(all_topics())),
    ]
    assert tools_in_order[-1] == "kafka-acls.sh"
    configs = {tuple(_options(call, "--command-config")) for call in made}
    [(admin_config,)] = configs
    assert {tuple(_options(call, "--bootstrap-server")) for call in made} == {("kafka:9092",)}
    admin = Path(admin_config).read_text()
    assert "sasl.mechanism=SCRAM-SHA-512" in admin
    assert f'username="admin" password="{env["KAFKA_PASSWORD_ADMIN"]}";' in admin


def test_cli_prints_writes_and_checks(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(app, ["acls"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == render_kafka_acls(acl_plan())
    target = tmp_path / "kafka-acls.sh"
    assert runner.invoke(app, ["acls", "--output", str(target)]).exit_code == 0
    assert target.read_text() == printed.stdout
    assert runner.invoke(app, ["acls", "--output", str(target), "--check"]).exit_code == 0
    target.write_text("#!/bin/sh\n")
    stale = runner.invoke(app, ["acls", "--output", str(target), "--check"])
    assert stale.exit_code == 1
    assert "make deploy-files" in stale.stderr
    assert target.read_text() == "#!/bin/sh\n"  # --check writes nothing
    assert runner.invoke(app, ["acls", "--check"]).exit_code == 2


def test_cli_json_and_without_operator() -> None:
    result = CliRunner().invoke(app, ["acls", "--format", "json", "--no-include-operator"])
    assert result.exit_code == 0, result.output
    assert '"User:iaj-operator"' not in result.stdout
    assert '"User:partner-cjg"' in result.stdout
