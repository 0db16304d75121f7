"""How `iaj status` reports consumer lag (broker/cli/status.py), from a made-up reading, and
which Kafka user it reads it as (the monitoring user when set)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr, ValidationError

from broker.cli.status import _kafka_json
from broker.service.consumer_lag import GroupLag, KafkaLag
from broker.settings import ServiceSettings
from contracts.enums import Partner
from contracts.topics import answer_topic, question_topic

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def _reading(silent: set[Partner]) -> KafkaLag:
    return KafkaLag(
        at=NOW,
        silent_after=dt.timedelta(hours=6),
        answers=tuple(
            GroupLag("iaj-municipal", answer_topic(p), p, 5, 5, 0, 1, stale=False) for p in Partner
        ),
        adapters=tuple(
            GroupLag(
                f"iaj-adapter-{p.value}",
                question_topic(p),
                p,
                end_offset=7,
                committed=None if p in silent else 7,
                lag=7 if p in silent else 0,
                members=0 if p in silent else 1,
                stale=p in silent,
            )
            for p in Partner
        ),
    )


def test_the_json_names_the_silent_adapters_and_every_partners_lag() -> None:
    data = _kafka_json(_reading({Partner.CJG}), None)
    assert data["reachable"] is True
    assert data["silent"] == ["cjg"]
    assert data["silent_after_seconds"] == 6 * 3600
    assert set(data["partners"]) == {p.value for p in Partner}
    assert data["partners"]["cjg"] == {
        "answers_group": "iaj-municipal",
        "answers_lag": 0,
        "adapter_group": "iaj-adapter-cjg",
        "adapter_topic": "iaj.questions.cjg",
        "adapter_lag": 7,
        "adapter_committed": None,
        "adapter_end_offset": 7,
        "adapter_members": 0,
        "adapter_silent": True,
    }
    assert data["partners"]["swt"]["adapter_silent"] is False


def test_unreachable_says_why() -> None:
    assert _kafka_json(None, "no answer from kafka:9092 within 10 s") == {
        "reachable": False,
        "error": "no answer from kafka:9092 within 10 s",
    }


def test_status_reads_lag_as_the_monitoring_user_when_one_is_set() -> None:
    common = {
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_username": "iaj-municipal",
        "kafka_sasl_password": SecretStr("service-secret"),
    }
    own = ServiceSettings.model_validate(common)
    assert own.monitor_security().client_kwargs["sasl_plain_username"] == "iaj-municipal"
    monitor = ServiceSettings.model_validate(
        {
            **common,
            "monitor_sasl_username": "iaj-monitor",
            "monitor_sasl_password": SecretStr("monitor-secret"),
        }
    )
    kwargs = monitor.monitor_security().client_kwargs
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == (
        "iaj-monitor",
        "monitor-secret",
    )
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    with pytest.raises(ValidationError, match="needs both a SASL username and a password"):
        ServiceSettings.model_validate({**common, "monitor_sasl_username": "iaj-monitor"})


def test_the_silent_threshold_is_a_setting_with_a_default_of_hours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ServiceSettings().partner_silent_after == dt.timedelta(hours=6)
    monkeypatch.setenv("IAJ_PARTNER_SILENT_AFTER", "PT2H")
    assert ServiceSettings().partner_silent_after == dt.timedelta(hours=2)
