"""Every numeric configuration limit, at and just past each edge.

The edges are stated here, apart from the code (the configuration reference documents the
same numbers): a limit moved in the code fails a test until this table moves with it, and
every ``_int_in`` limit in ``stacks/config`` must be listed (a new one cannot be forgotten).
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

import pytest

from stacks.config import (
    ConfigError,
    DatabaseConfig,
    DeploymentConfig,
    EdgeConfig,
    LoadBalancerConfig,
    MonitoringConfig,
    NetworkConfig,
    RegistryConfig,
    ServiceConfig,
)
from tests.conftest import ROOT

CLASSES: dict[str, Any] = {
    "database": DatabaseConfig,
    "deployment": DeploymentConfig,
    "edge": EdgeConfig,
    "load_balancer": LoadBalancerConfig,
    "monitoring": MonitoringConfig,
    "network": NetworkConfig,
    "registry": RegistryConfig,
    "service": ServiceConfig,
}

#: field -> (lowest, highest, other fields the edge needs).
EDGES: dict[str, tuple[int, int, dict[str, Any]]] = {
    "database.reader_count": (1, 14, {"max_readers": 15}),
    "database.max_readers": (2, 15, {"reader_count": 2}),
    "database.reader_cpu_target_percent": (20, 90, {}),
    "database.aws_backup_retention_days": (1, 3650, {}),
    "database.secret_rotation_days": (1, 365, {}),
    "database.backup_retention_days": (1, 35, {}),
    "database.backtrack_window_hours": (0, 72, {}),
    "deployment.bake_time_minutes": (0, 1440, {}),
    "deployment.canary_bake_minutes": (0, 1440, {}),
    "deployment.linear_step_minutes": (0, 1440, {}),
    "deployment.smoke_timeout_seconds": (1, 30, {}),
    "deployment.smoke_retry_seconds": (0, 300, {}),
    "edge.rate_limit": (10, 2_000_000_000, {}),
    "edge.max_body_bytes": (1024, 100 * 1024 * 1024, {}),
    "load_balancer.test_listener_port": (1024, 65535, {}),
    "load_balancer.access_log_retention_days": (1, 3650, {}),
    "load_balancer.idle_timeout_seconds": (1, 4000, {}),
    "load_balancer.health_check_interval_seconds": (5, 300, {"health_check_timeout_seconds": 2}),
    "load_balancer.health_check_timeout_seconds": (2, 120, {"health_check_interval_seconds": 300}),
    "load_balancer.healthy_threshold": (2, 10, {}),
    "load_balancer.unhealthy_threshold": (2, 10, {}),
    "monitoring.alarm_evaluation_periods": (1, 24, {"alarm_datapoints_to_alarm": 1}),
    "monitoring.alarm_datapoints_to_alarm": (1, 24, {"alarm_evaluation_periods": 24}),
    "monitoring.alb_5xx_rate_percent": (1, 100, {}),
    "monitoring.target_5xx_count": (1, 1_000_000, {}),
    "monitoring.unhealthy_hosts": (1, 1000, {}),
    "monitoring.latency_p99_ms": (10, 60_000, {}),
    "monitoring.ecs_cpu_percent": (1, 100, {}),
    "monitoring.ecs_memory_percent": (1, 100, {}),
    "monitoring.db_cpu_percent": (1, 100, {}),
    "monitoring.db_connections": (1, 16_000, {}),
    "monitoring.replica_lag_ms": (1, 600_000, {}),
    "monitoring.pending_orders": (1, 100_000_000, {}),
    "monitoring.spot_interruptions_per_hour": (1, 1000, {}),
    # A 1 % threshold needs a floor of 100 requests; at 100 % one request is enough.
    "monitoring.rollback_5xx_rate_percent": (1, 100, {"rollback_min_requests": 100}),
    "monitoring.rollback_latency_p99_ms": (10, 60_000, {}),
    "monitoring.rollback_min_requests": (1, 1_000_000, {"rollback_5xx_rate_percent": 100}),
    "monitoring.rollback_evaluation_periods": (1, 24, {"rollback_datapoints_to_alarm": 1}),
    "monitoring.rollback_datapoints_to_alarm": (1, 24, {"rollback_evaluation_periods": 24}),
    "network.az_count": (2, 3, {"az_letters": None}),
    "registry.keep_images": (1, 10_000, {}),
    "registry.releases_kept": (2, 1000, {}),
    "registry.untagged_expiry_days": (1, 3650, {}),
    "service.spot_percentage": (0, 100, {}),
    "service.cpu_target_percent": (10, 95, {}),
    "service.deregistration_delay_seconds": (0, 3600, {}),
    "service.container_port": (1024, 65535, {}),
    "service.max_tasks": (1, 1000, {"min_tasks": 1, "desired_tasks": 1, "on_demand_base": 0}),
    "service.min_tasks": (0, 20, {"max_tasks": 20, "desired_tasks": 20, "on_demand_base": 0}),
    "service.desired_tasks": (2, 20, {"min_tasks": 2, "max_tasks": 20}),
    "service.on_demand_base": (0, 2, {"min_tasks": 2}),
    "service.stop_timeout_seconds": (2, 110, {}),
    "service.scale_in_cooldown_seconds": (0, 3600, {}),
    "service.scale_out_cooldown_seconds": (0, 3600, {}),
    "service.pending_orders_per_task": (1, 1_000_000, {}),
    "service.requests_per_target": (1, 1_000_000, {}),
}


def build(field: str, value: int) -> object:
    concern, name = field.split(".")
    kwargs = {**EDGES[field][2], name: value}
    if field == "network.az_count":
        kwargs["az_letters"] = tuple("abc"[:value]) if 2 <= value <= 3 else ("a", "b")
    return CLASSES[concern](**kwargs)


def enforced_limits() -> set[str]:
    """Every ``_int_in("<concern>.<field>", ...)`` in stacks/config."""
    found = set()
    for path in sorted((ROOT / "stacks" / "config").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_int_in" and isinstance(node.args[0], ast.Constant):
                found.add(str(node.args[0].value))
    return found


def test_every_limit_in_the_code_has_its_edges_stated_here() -> None:
    assert enforced_limits() - {"_int_in"} == set(EDGES)


@pytest.mark.parametrize("field", sorted(EDGES))
def test_each_edge_is_accepted(field: str) -> None:
    lowest, highest, _ = EDGES[field]
    build(field, lowest)
    build(field, highest)


@pytest.mark.parametrize("field", sorted(EDGES))
def test_fails_just_past_each_edge(field: str) -> None:
    lowest, highest, _ = EDGES[field]
    for value in (lowest - 1, highest + 1):
        with pytest.raises(ConfigError) as excinfo:
            build(field, value)
        assert excinfo.value.field_name == field, (value, str(excinfo.value))


@pytest.mark.parametrize(("count", "ok"), [(0, True), (10, True), (11, False)])
def test_smoke_paths_up_to_the_documented_ten(count: int, ok: bool) -> None:
    paths = tuple(f"/p{i}" for i in range(count))
    if ok:
        assert DeploymentConfig(smoke_paths=paths).smoke_paths == paths
        return
    with pytest.raises(ConfigError, match=r"^deployment\.smoke_paths="):
        DeploymentConfig(smoke_paths=paths)


@pytest.mark.parametrize(("length", "ok"), [(256, True), (257, False)])
def test_a_smoke_path_of_up_to_256_characters(length: int, ok: bool) -> None:
    path = "/" + "a" * (length - 1)
    if ok:
        assert DeploymentConfig(smoke_paths=(path,)).smoke_paths == (path,)
        return
    with pytest.raises(ConfigError):
        DeploymentConfig(smoke_paths=(path,))


@pytest.mark.parametrize(
    ("field", "edges"),
    [("canary_percent", (0.1, 100.0)), ("linear_step_percent", (3.0, 100.0))],
)
def test_deployment_percentages_at_and_past_their_edges(field: str, edges: tuple[float, float]) -> None:
    low, high = edges
    for value in (low, high, 50.5):
        changes: dict[str, Any] = {field: value}
        replace(DeploymentConfig(), **changes)
    for value in (round(low - 0.1, 1), 100.1, 50.05):
        with pytest.raises(ConfigError):
            replace(DeploymentConfig(), **{field: value})  # type: ignore[arg-type]
