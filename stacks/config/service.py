"""The ECS Fargate service, its container and its auto scaling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stacks.config.validate import _int_in, _one_of, _require

#: Fargate task sizes: CPU units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
_IMAGE_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_IMAGE_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_PARAM_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_METRIC_RE = re.compile(r"[A-Za-z0-9_./#:-]{1,255}")
LOG_LEVELS = ("debug", "info", "warn", "error")
DEFAULT_CONTAINER_HEALTH_CHECK = "curl -fsS http://localhost:{port}{path} || exit 1"
#: A shell command of printable ASCII on one line.
#: The health check path: also part of the container's health check command, so no character a shell reads.
_HEALTH_PATH_RE = re.compile(r"/[A-Za-z0-9._~/-]{0,1023}")
_COMMAND_RE = re.compile(r"[ -~]{1,1024}")


@dataclass(frozen=True)
class ServiceConfig:
    """The ECS Fargate service, its container and its auto scaling."""

    #: Share of tasks on FARGATE_SPOT, in percent (realized by capacity provider weights).
    spot_percentage: int = 50
    #: Tasks always on on-demand FARGATE before the weights apply (prod: at least 1).
    on_demand_base: int = 0
    #: Average CPU utilisation the auto scaler keeps, in percent.
    cpu_target_percent: int = 70
    #: Health check path of the container behind the ALB.
    health_check_path: str = "/health"
    #: The container's own health check, a shell command (``{port}`` and ``{path}`` are
    #: filled in); None leaves health to the load balancer's check alone.  The default
    #: needs ``curl`` in the image (the application contract says so).
    container_health_check: str | None = DEFAULT_CONTAINER_HEALTH_CHECK
    #: Connection draining on the target groups, seconds.
    deregistration_delay_seconds: int = 30
    #: Port the container listens on.
    container_port: int = 8080
    #: Task CPU units and memory (MiB): a Fargate-supported pair.
    cpu: int = 512
    memory: int = 1024
    #: Image in the shared registry the service starts with when Terraform creates it:
    #: a tag, or a digest ``sha256:<64 hex>``.  ``latest`` is accepted in dev only.
    #: Afterwards images move only with ``make release`` and ``make promote``.
    image_tag: str = "latest"
    #: Task counts: min <= desired <= max; min >= on_demand_base.
    min_tasks: int = 2
    desired_tasks: int = 2
    max_tasks: int = 6
    #: Seconds ECS waits after SIGTERM before SIGKILL; under the 2-minute Spot warning.
    stop_timeout_seconds: int = 30
    #: Container Insights: ``enabled`` or ``enhanced``.
    container_insights: Literal["enabled", "enhanced"] = "enabled"
    #: Custom backlog metric the application publishes (dimension ``ServiceName``).
    pending_orders_namespace: str = "OrderApi"
    pending_orders_metric: str = "PendingOrders"
    #: Pending orders one task should carry; the auto scaler keeps backlog/tasks near it.
    pending_orders_per_task: int = 100
    #: Optional ALB requests per target the auto scaler keeps (None: no such policy).
    requests_per_target: int | None = None
    #: Auto scaling cooldowns, seconds.
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60
    #: ECS Exec into running tasks (audited to an encrypted log group).
    enable_execute_command: bool = False
    #: Application log level (SSM parameter ``log-level``).
    log_level: str = "info"
    #: Feature values published as SSM parameters under ``features/<key>``.
    features: tuple[tuple[str, str], ...] = (("orders.max-batch-size", "50"),)

    @property
    def image_is_digest(self) -> bool:
        return bool(_IMAGE_DIGEST_RE.fullmatch(self.image_tag))

    @property
    def image_reference_suffix(self) -> str:
        """What follows the repository URL: ``:<tag>`` or ``@sha256:<digest>``."""
        return f"@{self.image_tag}" if self.image_is_digest else f":{self.image_tag}"

    def __post_init__(self) -> None:
        _int_in("service.spot_percentage", self.spot_percentage, 0, 100)
        _int_in("service.cpu_target_percent", self.cpu_target_percent, 10, 95)
        _require(
            bool(_HEALTH_PATH_RE.fullmatch(self.health_check_path)),
            "service.health_check_path",
            self.health_check_path,
            "a URL path starting with / of letters, digits and . _ ~ - / (at most 1024 characters)",
        )
        if self.container_health_check is not None:
            _require(
                bool(_COMMAND_RE.fullmatch(self.container_health_check)) and _formats(self.container_health_check),
                "service.container_health_check",
                self.container_health_check,
                "a one-line shell command of printable ASCII (at most 1024 characters) whose only {placeholders} are {port} and {path}, or none",
            )
        _int_in("service.deregistration_delay_seconds", self.deregistration_delay_seconds, 0, 3600)
        _int_in("service.container_port", self.container_port, 1024, 65535)
        _one_of("service.cpu", self.cpu, tuple(FARGATE_SIZES))
        _require(
            self.memory in FARGATE_SIZES.get(self.cpu, ()),
            "service.memory",
            self.memory,
            f"a Fargate memory size for cpu={self.cpu}: {', '.join(map(str, FARGATE_SIZES.get(self.cpu, ())))}",
        )
        _require(
            bool(_IMAGE_TAG_RE.fullmatch(self.image_tag) or _IMAGE_DIGEST_RE.fullmatch(self.image_tag)),
            "service.image_tag",
            self.image_tag,
            "a Docker tag (letters, digits, _ . -, at most 128, not starting with . or -) or a digest sha256:<64 lowercase hex>",
        )
        _int_in("service.max_tasks", self.max_tasks, 1, 1000)
        _int_in("service.min_tasks", self.min_tasks, 0, self.max_tasks)
        _int_in("service.desired_tasks", self.desired_tasks, self.min_tasks, self.max_tasks)
        _int_in("service.on_demand_base", self.on_demand_base, 0, max(self.min_tasks, 0))
        _int_in("service.stop_timeout_seconds", self.stop_timeout_seconds, 2, 110)
        _one_of("service.container_insights", self.container_insights, ("enabled", "enhanced"))
        _require(
            bool(_METRIC_RE.fullmatch(self.pending_orders_namespace)) and not self.pending_orders_namespace.startswith("AWS/"),
            "service.pending_orders_namespace",
            self.pending_orders_namespace,
            "a custom CloudWatch namespace (not AWS/...)",
        )
        _require(
            bool(_METRIC_RE.fullmatch(self.pending_orders_metric)), "service.pending_orders_metric", self.pending_orders_metric, "a CloudWatch metric name"
        )
        _int_in("service.pending_orders_per_task", self.pending_orders_per_task, 1, 1_000_000)
        if self.requests_per_target is not None:
            _int_in("service.requests_per_target", self.requests_per_target, 1, 1_000_000)
        _int_in("service.scale_in_cooldown_seconds", self.scale_in_cooldown_seconds, 0, 3600)
        _int_in("service.scale_out_cooldown_seconds", self.scale_out_cooldown_seconds, 0, 3600)
        _one_of("service.log_level", self.log_level, LOG_LEVELS)
        keys = [k for k, _ in self.features]
        for key, value in self.features:
            _require(bool(_PARAM_KEY_RE.fullmatch(key)), "service.features", key, "keys of lowercase letters, digits, _ . - (max 63)")
            _require(0 < len(value) <= 4096, f"service.features[{key}]", value, "1-4096 characters")
        _require(len(keys) == len(set(keys)), "service.features", keys, "unique keys")


def _formats(command: str) -> bool:
    """Whether ``command`` fills in with ``port`` and ``path`` and nothing else."""
    try:
        command.format(port=8080, path="/health")
    except (KeyError, IndexError, ValueError):
        return False
    return True
