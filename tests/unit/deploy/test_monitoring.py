"""The Grafana dashboard and the Prometheus alert rules in deploy/ use only metrics the code
defines: a renamed metric fails here, not silently on an operator's screen."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY, CollectorRegistry

import broker.service.metrics
import partner_adapters.metrics

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "iaj-broker.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
_NAME = re.compile(r"\b((?:iaj|faststream)_[a-z0-9_]+)\b")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def sample_names(registry: CollectorRegistry) -> set[str]:
    names = set()
    for family in registry.collect():
        names |= {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
    return names


def defined() -> set[str]:
    assert broker.service.metrics.SNAPSHOT  # registered on import
    assert partner_adapters.metrics.STATE
    # FastStream's own metrics (KafkaPrometheusMiddleware), as `iaj serve` registers them.
    faststream = CollectorRegistry()
    KafkaPrometheusMiddleware(registry=faststream, app_name="x")
    return sample_names(REGISTRY) | sample_names(faststream)


def expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"expr", "query", "definition"} and isinstance(value, str):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def used_in_dashboard() -> set[str]:
    return {m for e in expressions(json.loads(DASHBOARD.read_text())) for m in _NAME.findall(e)}


def used_in_alerts() -> set[str]:
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    return {m for r in rules for m in _NAME.findall(r["expr"])}


def test_every_metric_of_the_dashboard_is_defined() -> None:
    used = used_in_dashboard()
    assert len(used) > 20
    assert used - defined() == set()


def test_every_metric_of_the_alert_rules_is_defined() -> None:
    used = used_in_alerts()
    assert len(used) > 8
    assert used - defined() == set()


def test_the_alerts_cover_what_issue_14_names() -> None:
    rules = {
        r["alert"]: r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]
    }
    assert {
        "IajPartnerSilent",
        "IajOutboxBacklogOld",
        "IajOutboxBacklogGrowing",
        "IajDeadLettersRising",
        "IajRoundsPastDeadline",
    } <= set(rules)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, name
        assert rule["annotations"]["summary"], name


def test_every_metric_of_ours_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    ours = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in REGISTRY.collect()
        if family.name.startswith("iaj_")
    }
    assert {name for name in ours if f"`{name}`" not in readme} == set()
