"""The files of deploy/: promtool accepts the Prometheus config and rules (and the alerts fire
when they should), the dashboard and the rules name only metrics Parley exports, and systemd
accepts the unit."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ServerProcess
from tests.integration.ws import new_user
from tests.ops.helpers import (
    DEPLOY,
    chat_once,
    exported_names,
    need,
    promql_metrics,
    scrape,
    unknown_metrics,
)

PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "parley-alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "parley-dashboard.json"
UNIT = DEPLOY / "systemd" / "parley.service"
ALERT_TESTS = Path(__file__).with_name("alerts_test.yml")


def _promtool(*args: str, cwd: Path | None = None) -> None:
    result = subprocess.run(
        [need("promtool"), *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_rules() -> None:
    _promtool("check", "rules", str(RULES))


def test_promtool_accepts_the_scrape_config() -> None:
    _promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))


def test_alerts_fire_when_they_should(tmp_path: Path) -> None:
    """promtool's rule unit tests: each alert fires on a series made to trip it, not before."""
    shutil.copy(RULES, tmp_path / RULES.name)
    shutil.copy(ALERT_TESTS, tmp_path / ALERT_TESTS.name)
    _promtool("test", "rules", ALERT_TESTS.name, cwd=tmp_path)


def _rule_exprs() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from _walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child)


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [node["expr"] for node in _walk(dashboard["panels"]) if "expr" in node]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(variable["definition"])
    return exprs


def test_the_metric_name_parser() -> None:
    assert promql_metrics(
        'histogram_quantile(0.9, sum by (le, model) (rate(a_bucket{job="x",le=~"1"}[5m]))) > 10'
    ) == {"a_bucket"}
    assert promql_metrics('up{job="parley"} == 0 and on (instance) b / c offset 5m') == {
        "up",
        "b",
        "c",
    }
    assert promql_metrics('label_values(parley_info{job="parley"}, instance)') == {"parley_info"}
    assert promql_metrics("rate(x_total[$__rate_interval]) * 100") == {"x_total"}


@pytest.fixture(scope="module")
async def exported(ops_server: ServerProcess) -> set[str]:
    """The names /metrics exports once a chat has gone through."""
    frames = await chat_once(new_user(ops_server), "fill the metrics")
    assert frames[-1]["type"] == "end"
    return exported_names(scrape(ops_server))


def test_the_dashboard_names_only_exported_metrics(exported: set[str]) -> None:
    exprs = _dashboard_exprs()
    assert len(exprs) > 20
    assert unknown_metrics(exprs, exported) == {}
    used = set().union(*(promql_metrics(expr) for expr in exprs))
    for needed in (
        "parley_time_to_first_token_seconds_bucket",
        "parley_inter_token_latency_seconds_bucket",
        "parley_generated_tokens_total",
        "parley_batch_size",
        "parley_runs_queued",
        "parley_websocket_connections",
        "parley_gpu_memory_used_bytes",
        "process_resident_memory_bytes",
    ):
        assert needed in used, f"the dashboard shows no {needed}"


def test_the_alert_rules_name_only_exported_metrics(exported: set[str]) -> None:
    assert unknown_metrics(_rule_exprs(), exported) == {}


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = need("systemd-analyze")
    parley = shutil.which("parley")
    if parley is None:
        pytest.skip("the `parley` command is not on PATH")
    unit = tmp_path / UNIT.name
    text = UNIT.read_text()
    assert text.count("/opt/parley/bin/parley serve") == 1
    # verify checks that ExecStart exists: point it at this machine's `parley`.
    unit.write_text(text.replace("/opt/parley/bin/parley", parley))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "parley.service" not in result.stderr, result.stderr
