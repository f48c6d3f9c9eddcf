"""Alarms on two encrypted SNS topics (the page, the tickets), and the on-call dashboard of one environment."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stacks.aws import (
    cloudwatch_composite_alarm,
    cloudwatch_dashboard,
    cloudwatch_event_rule,
    cloudwatch_event_target,
    cloudwatch_log_metric_filter,
    cloudwatch_metric_alarm,
)
from stacks.components.alert_channel import AlertChannel, ChannelSpec, alert_channel
from stacks.components.common import AwsContext, log_group
from stacks.components.rollback import LATENCY_METRICS, RATE_METRICS, latency_expression, rate_expression
from stacks.components.slo import BURN_METRICS, BURN_PAIRS, BURN_WINDOWS, SLO_PERIOD_DAYS, BurnWindow, burn_expression, burn_rule
from stacks.config import ConfigError, MonitoringConfig
from stacks.config.names import PAGING_TOPIC_SUFFIX, TICKET_TOPIC_SUFFIX
from stacks.framework import Construct, ITerraformDependable

Alarm = cloudwatch_metric_alarm

#: Every alarm, by the part of its name after ``<name_prefix>-``, in creation order.
ALARM_KEYS = (
    "alb-5xx-rate",
    "target-5xx",
    "unhealthy-hosts-blue",
    "unhealthy-hosts-green",
    "latency-p99",
    "running-tasks-low",
    "ecs-cpu-high",
    "ecs-memory-high",
    "db-cpu-high",
    "db-connections-high",
    "db-connections-zero",
    "db-replica-lag",
    "pending-orders-backlog",
)

#: The burn-rate window alarms (:mod:`stacks.components.slo`), fast pair first, long before short.
BURN_ALARM_KEYS = tuple(window.key for window in BURN_WINDOWS)
#: The composite alarm that pages when the availability SLO's error budget burns.
PAGE_KEY = "slo-burn"
#: Fargate Spot made visible: interruptions above a rate, and Spot tasks ECS cannot place.
SPOT_ALARM_KEYS = ("spot-interruptions", "spot-placement-failed")

#: The new revision's own signal (:mod:`stacks.components.rollback`), per target group:
#: its 5xx share of requests and its p99 response time, each above a floor of requests.
TARGET_GROUP_ALARM_KEYS = ("target-5xx-rate-blue", "target-5xx-rate-green", "target-latency-p99-blue", "target-latency-p99-green")

#: Alarms that notify the paging topic (on firing and on recovery).  The page is the SLO
#: burn; the others see what the availability SLO cannot: slow answers, accepted orders
#: not processed, and Fargate Spot capacity.
PAGING_ALARM_KEYS = (PAGE_KEY, "latency-p99", "pending-orders-backlog", *SPOT_ALARM_KEYS)
#: Cause alarms: they notify the non-paging ticket topic (on firing and on recovery).
#: Every metric alarm but the pages and the burn-rate windows, which notify nobody
#: themselves: the composite page is their notification.
TICKET_ALARM_KEYS = tuple(k for k in (*ALARM_KEYS, *TARGET_GROUP_ALARM_KEYS) if k not in PAGING_ALARM_KEYS)

#: Alarms an ECS deployment rolls back on: the fast burn's 5-minute window (the new
#: revision fails requests across the load balancer), unhealthy targets, and the new
#: revision's own 5xx rate and p99 in either target group (blue and green swap roles at
#: every deployment; during a canary only its own target group shows its errors
#: undiluted).  ECS takes metric alarms (it computes the bake time from their periods
#: and polls them with DescribeAlarms), so the composite page is not one of them; the
#: longer windows are not either: they stay in ALARM up to six hours after an incident,
#: and ECS ignores the alarms of a deployment that starts while one of them is in ALARM.
ROLLBACK_ALARM_KEYS = ("slo-fast-5m", "unhealthy-hosts-blue", "unhealthy-hosts-green", *TARGET_GROUP_ALARM_KEYS)

#: Namespace of the metrics counted from the environment's ECS events (metric filters).
EVENTS_NAMESPACE = "OrderApi/EcsEvents"

ELB = "AWS/ApplicationELB"
ECS = "AWS/ECS"
INSIGHTS = "ECS/ContainerInsights"
RDS = "AWS/RDS"
WAF = "AWS/WAFV2"


#: What a failed or rolled-back deployment sends to the alarm topic (EventBridge input
#: template; ``<...>`` are the event fields of :data:`DEPLOYMENT_EVENT_FIELDS`).
DEPLOYMENT_MESSAGE = '"<service>: ECS deployment <deployment> <event> at <time>: <reason>"'
DEPLOYMENT_EVENT_FIELDS = {
    "service": "$.resources[0]",
    "deployment": "$.detail.deploymentId",
    "event": "$.detail.eventName",
    "time": "$.time",
    "reason": "$.detail.reason",
}


def deployment_event_pattern(service_arn: str) -> dict[str, Any]:
    """ECS deployment state changes of one service that need a person: a failed
    deployment, and the start of a rollback (whose reason names the cause)."""
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        "resources": [service_arn],
        "detail": {
            "$or": [
                {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
                {"eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS"], "reason": [{"wildcard": "*rolling back*"}]},
            ]
        },
    }


def spot_interruption_pattern(cluster_arn: str) -> dict[str, Any]:
    """Tasks of the cluster stopped by a Fargate Spot interruption: the final ``STOPPED``
    event only, so each interrupted task counts once (the two-minute warning and the
    states in between carry the same stop code)."""
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {"clusterArn": [cluster_arn], "stopCode": ["SpotInterruption"], "lastStatus": ["STOPPED"]},
    }


def spot_placement_failure_pattern(service_arn: str) -> dict[str, Any]:
    """The service could not place a task on Fargate Spot (no Spot capacity)."""
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Service Action"],
        "resources": [service_arn],
        "detail": {"eventName": ["SERVICE_TASK_PLACEMENT_FAILURE"], "capacityProviderArns": [{"wildcard": "*capacity-provider/FARGATE_SPOT"}]},
    }


def restore_test_failure_pattern(plan_arn: str) -> dict[str, Any]:
    """A restore job of the restore testing plan ``plan_arn`` (the weekly restore test) that
    failed or was aborted.

    AWS Backup's "Restore Job State Change" event carries ``restoreJobId``, ``status``,
    ``resourceType``, ``creationDate`` and, on failure, ``statusMessage``; a job that a
    restore testing plan started carries ``restoreTestingPlanArn`` too.  The failed job's
    event has no ``sourceResourceArn``, so the plan names the cluster's restore tests.
    Documented at https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html
    (Restore Job events; tests/fixtures/restore_job_events.json holds its FAILED and COMPLETED examples)."""
    return {
        "source": ["aws.backup"],
        "detail-type": ["Restore Job State Change"],
        "detail": {"status": ["FAILED", "ABORTED"], "restoreTestingPlanArn": [plan_arn]},
    }


#: What a failed restore test sends to the alarm topic: a fixed text naming the cluster,
#: then the event fields of :data:`RESTORE_TEST_EVENT_FIELDS` (each in the documented event).
RESTORE_TEST_MESSAGE = '"{cluster}: restore test <job> (<resource>) <status> at <time>: <reason>"'
RESTORE_TEST_EVENT_FIELDS = {
    "job": "$.detail.restoreJobId",
    "resource": "$.detail.resourceType",
    "status": "$.detail.status",
    "time": "$.time",
    "reason": "$.detail.statusMessage",
}

#: The metric filters on the environment's ECS event log group: key (filter
#: ``<name_prefix>-<key>``), metric name, and the pattern of the events it counts.  Each
#: metric has the dimension ``ClusterArn`` (the event's ``$.detail.clusterArn``).
EVENT_METRICS = (
    ("spot-interruptions", "SpotInterruptions", '{ $.detail.stopCode = "SpotInterruption" }'),
    ("spot-placement-failures", "SpotPlacementFailures", '{ $.detail.eventName = "SERVICE_TASK_PLACEMENT_FAILURE" }'),
)


def alarm_name(name_prefix: str, key: str) -> str:
    """Physical alarm name, ``<name_prefix>-<key>``."""
    return f"{name_prefix}-{key}"


@dataclass(frozen=True)
class MonitoringTargets:
    """What the alarms and the dashboard watch: plain strings or Terraform references."""

    #: ``arn_suffix`` of the ALB (``app/<name>/<id>``), the ``LoadBalancer`` dimension.
    alb_arn_suffix: str
    #: ``arn_suffix`` of each target group, the ``TargetGroup`` dimension.
    blue_target_group_arn_suffix: str
    green_target_group_arn_suffix: str
    cluster_name: str
    service_name: str
    db_cluster_identifier: str
    #: Name of the WAF web ACL (the ``WebACL`` dimension).
    web_acl_name: str
    #: Tasks the service keeps at least; fewer running fires ``running-tasks-low``.
    min_tasks: int
    #: The application's backlog metric, published with dimension ``ServiceName``.
    pending_orders_namespace: str = "OrderApi"
    pending_orders_metric: str = "PendingOrders"
    #: Dimensions of the backlog metric; default ``{"ServiceName": service_name}``.
    pending_orders_dimensions: Mapping[str, str] | None = field(default=None)
    #: The restore testing plan of the database cluster's weekly AWS Backup restore tests,
    #: whose failures reach the paging topic (rule ``<name_prefix>-restore-test-failed``).
    #: Default none: no restore tests.
    restore_testing_plan_arn: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.min_tasks, bool) or not isinstance(self.min_tasks, int) or self.min_tasks < 1:
            raise ConfigError("service.min_tasks", self.min_tasks, "an integer of at least 1 (a service that may run no tasks cannot alarm on too few)")

    @property
    def backlog_dimensions(self) -> dict[str, str]:
        return dict(self.pending_orders_dimensions) if self.pending_orders_dimensions is not None else {"ServiceName": self.service_name}


@dataclass(frozen=True)
class _Spec:
    key: str
    description: str
    comparison: str
    threshold: float
    #: Chosen per alarm; see the comment where each alarm is declared.
    treat_missing_data: str
    namespace: str = ""
    metric: str = ""
    dimensions: Mapping[str, str] = field(default_factory=dict)
    statistic: str | None = None
    extended_statistic: str | None = None
    metric_query: Sequence[Alarm.CloudwatchMetricAlarmMetricQuery] = ()
    #: Seconds per period (single-metric alarms) and periods looked at; default the
    #: configured ones.  Datapoints to alarm: the configured ones, at most the periods.
    period: int | None = None
    evaluation_periods: int | None = None
    #: Breaching periods that fire it; default the configured ones.
    datapoints_to_alarm: int | None = None


@dataclass(frozen=True)
class _TopicRule:
    """An event rule whose events reach the topic as one line (input paths, template)."""

    id: str
    name: str
    description: str
    pattern: dict[str, Any]
    message: tuple[Mapping[str, str], str]


class Monitoring(Construct):
    """Alarms, their two SNS topics and the on-call dashboard of one environment.

    Two alert channels (:func:`~stacks.components.alert_channel.alert_channel`), each a
    topic encrypted with its own customer-managed key that only this account's
    ``<name_prefix>-*`` alarms (and, for the page, the environment's event rules) may
    publish to, over TLS:

    - the page, ``<name_prefix>-alarms``: the alarms of :data:`PAGING_ALARM_KEYS`, and
      one line per failed or rolled-back ECS deployment of the service (rule
      ``<name_prefix>-deployment-failed``, :func:`deployment_event_pattern`) and, with
      ``targets.restore_testing_plan_arn``, per failed restore test (rule
      ``<name_prefix>-restore-test-failed``).  Subscribers: ``config.alarm_emails`` and
      ``config.alarm_https_endpoints``; ``config.alarm_topic_arn`` also receives the pages;
    - the tickets, ``<name_prefix>-tickets``: the cause alarms of
      :data:`TICKET_ALARM_KEYS` (errors, hosts, tasks, CPU, memory, database, the
      per-target-group rollback alarms), for working hours.  Subscribers:
      ``config.ticket_emails`` and ``config.ticket_https_endpoints``;
      ``config.ticket_topic_arn`` also receives them.

    Alarms are named ``<name_prefix>-<key>``: the threshold alarms (:data:`ALARM_KEYS`),
    the per-target-group rollback alarms (:data:`TARGET_GROUP_ALARM_KEYS`), the
    burn-rate windows (:data:`BURN_ALARM_KEYS`) and the composite page
    (:data:`PAGE_KEY`) built from them, and the Fargate Spot alarms
    (:data:`SPOT_ALARM_KEYS`) on metrics counted from the cluster's ECS events.  Each
    notifies its channel when it fires and when it recovers; the burn-rate windows
    notify nobody themselves: the page is their notification.

    Attributes: ``topic_arn`` (the page's), ``ticket_topic_arn``, ``alarm_actions``,
    ``ticket_actions``, ``alarm_names``, ``alarms`` (key -> metric alarm), ``page`` (the
    composite alarm), ``rollback_alarm_names`` (references), ``dashboard_name``,
    ``dashboard_url``, ``key_arn``, ``events_log_group_name``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        config: MonitoringConfig,
        aws: AwsContext,
        targets: MonitoringTargets,
        log_retention_days: int,
        log_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        self._prefix = name_prefix
        self._config = config
        self._aws = aws
        self._targets = targets

        self._channels(name_prefix, config)
        specs = self._specs(config, targets)
        assert tuple(s.key for s in specs) == ALARM_KEYS
        self.alarms: dict[str, Alarm.CloudwatchMetricAlarm] = {spec.key: self._alarm(spec) for spec in specs}
        self.alarms.update({spec.key: self._alarm(spec) for spec in self._target_group_specs(config, targets)})
        self.alarms.update({window.key: self._alarm(self._burn_spec(window)) for window in BURN_WINDOWS})
        self.page = self._page()
        self._ecs_events(log_retention_days, log_key_arn)
        self.alarms.update({spec.key: self._alarm(spec) for spec in self._spot_specs()})
        self.alarm_names = [alarm_name(name_prefix, key) for key in (PAGE_KEY, *BURN_ALARM_KEYS, *ALARM_KEYS, *TARGET_GROUP_ALARM_KEYS, *SPOT_ALARM_KEYS)]
        #: References to the rollback alarms' names: the service that rolls back on them
        #: then depends on them, so they exist before its first deployment.
        self.rollback_alarm_names = [self.alarms[key].alarm_name for key in ROLLBACK_ALARM_KEYS]

        self.dashboard_name = f"{name_prefix}-on-call"
        cloudwatch_dashboard.CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=json.dumps(self._dashboard_body(), sort_keys=True, separators=(",", ":")),
        )
        self.dashboard_url = f"https://{aws.region}.console.aws.amazon.com/cloudwatch/home?region={aws.region}#dashboards:name={self.dashboard_name}"

    # --------------------------------------------------------------- channels

    def _channels(self, name_prefix: str, config: MonitoringConfig) -> None:
        """The paging topic with its event rules, and the ticket topic (:class:`Monitoring`)."""
        rules = self._topic_rules()
        page = self._channel(
            ChannelSpec(
                "",
                f"{name_prefix}-{PAGING_TOPIC_SUFFIX}",
                "alarm",
                config.alarm_emails,
                config.alarm_https_endpoints,
                config.alarm_topic_arn,
                [r.name for r in rules],
            )
        )
        tickets = self._channel(
            ChannelSpec(
                "ticket_", f"{name_prefix}-{TICKET_TOPIC_SUFFIX}", "ticket", config.ticket_emails, config.ticket_https_endpoints, config.ticket_topic_arn
            )
        )
        self.topic_arn, self.key_arn, self.alarm_actions = page.topic_arn, page.key_arn, page.actions
        self.ticket_topic_arn, self.ticket_actions = tickets.topic_arn, tickets.actions
        for r in rules:
            self._event_rule(r.id, r.name, r.description, r.pattern, target_arn=page.topic_arn, message=r.message)

    def _channel(self, spec: ChannelSpec) -> AlertChannel:
        return alert_channel(self, spec=spec, name_prefix=self._prefix, aws=self._aws)

    def _topic_rules(self) -> list[_TopicRule]:
        """Events that reach the topic as one readable line each: failed and rolled-back
        deployments of the service, and (with restore tests) failed restore tests of the
        database cluster."""
        t, prefix = self._targets, self._prefix
        rules = [
            _TopicRule(
                "deployment_failed",
                f"{prefix}-deployment-failed",
                f"{t.service_name}: ECS deployment failed or rolling back",
                deployment_event_pattern(self._service_arn),
                (DEPLOYMENT_EVENT_FIELDS, DEPLOYMENT_MESSAGE),
            )
        ]
        if t.restore_testing_plan_arn is not None:
            rules.append(
                _TopicRule(
                    "restore_test_failed",
                    f"{prefix}-restore-test-failed",
                    f"{t.db_cluster_identifier}: AWS Backup restore test failed",
                    restore_test_failure_pattern(t.restore_testing_plan_arn),
                    (RESTORE_TEST_EVENT_FIELDS, RESTORE_TEST_MESSAGE.format(cluster=t.db_cluster_identifier)),
                )
            )
        return rules

    def _event_rule(
        self,
        id_: str,
        name: str,
        description: str,
        pattern: dict[str, Any],
        *,
        target_arn: str,
        message: tuple[Mapping[str, str], str] | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        """A rule on the default bus and its one target (which waits for ``depends_on``);
        with ``message`` (input paths, template) the target gets one readable line
        instead of the event."""
        rule = cloudwatch_event_rule.CloudwatchEventRule(
            self, f"{id_}_rule", name=name, description=description, event_pattern=json.dumps(pattern, sort_keys=True)
        )
        transformer = None
        if message is not None:
            paths, template = message
            transformer = cloudwatch_event_target.CloudwatchEventTargetInputTransformer(input_paths=dict(paths), input_template=template)
        cloudwatch_event_target.CloudwatchEventTarget(
            self,
            f"{id_}_target",
            rule=rule.name,
            target_id="alarm-topic" if message is not None else "event-log",
            arn=target_arn,
            input_transformer=transformer,
            depends_on=list(depends_on) or None,
        )

    @property
    def _cluster_arn(self) -> str:
        return self._aws.arn("ecs", f"cluster/{self._targets.cluster_name}")

    @property
    def _service_arn(self) -> str:
        t = self._targets
        return self._aws.arn("ecs", f"service/{t.cluster_name}/{t.service_name}")

    # ------------------------------------------------------ ECS events (Spot)

    def _ecs_events(self, retention_days: int, key_arn: str) -> None:
        """Fargate Spot interruptions and Spot placement failures of the service, recorded
        in the log group ``/aws/events/<name_prefix>-ecs`` (one entry per event, for the
        runbook) and counted there by metric filters (:data:`EVENT_METRICS`)."""
        prefix = self._prefix
        group = log_group(self, "events_log_group", name=f"/aws/events/{prefix}-ecs", retention_days=retention_days, kms_key_arn=key_arn)
        self.events_log_group_name = group.name
        rules = {
            "spot_interruptions": (f"{prefix}-spot-interruptions", "Fargate Spot interruptions", spot_interruption_pattern(self._cluster_arn)),
            "spot_placement_failures": (
                f"{prefix}-spot-placement-failures",
                "Fargate Spot tasks ECS could not place",
                spot_placement_failure_pattern(self._service_arn),
            ),
        }
        # EventBridge may write here by the account stack's one log resource policy for
        # every environment's /aws/events/order-api-* group (stacks/account_stack.py).
        for id_, (name, what, pattern) in rules.items():
            self._event_rule(id_, name, f"{self._targets.service_name}: {what}", pattern, target_arn=group.arn)
        for key, metric, filter_pattern in EVENT_METRICS:
            cloudwatch_log_metric_filter.CloudwatchLogMetricFilter(
                self,
                f"{key.replace('-', '_')}_filter",
                name=f"{prefix}-{key}",
                log_group_name=group.name,
                pattern=filter_pattern,
                metric_transformation=cloudwatch_log_metric_filter.CloudwatchLogMetricFilterMetricTransformation(
                    name=metric, namespace=EVENTS_NAMESPACE, value="1", dimensions={"ClusterArn": "$.detail.clusterArn"}, unit="Count"
                ),
            )

    def _spot_specs(self) -> list[_Spec]:
        """Alarms on the counted ECS events; no event is no interruption."""
        c = self._config
        cluster = {"ClusterArn": self._cluster_arn}
        return [
            _Spec(
                "spot-interruptions",
                f"{c.spot_interruptions_per_hour} or more Fargate Spot interruptions within an hour "
                "(runbook: README, Monitoring; consider a larger on-demand share)",
                "GreaterThanOrEqualToThreshold",
                c.spot_interruptions_per_hour,
                "notBreaching",
                EVENTS_NAMESPACE,
                "SpotInterruptions",
                cluster,
                "Sum",
                period=3600,
                evaluation_periods=1,
            ),
            _Spec(
                "spot-placement-failed",
                "ECS could not place a Fargate Spot task within the last 15 minutes: no Spot capacity (runbook: README, Monitoring)",
                "GreaterThanOrEqualToThreshold",
                1,
                "notBreaching",
                EVENTS_NAMESPACE,
                "SpotPlacementFailures",
                cluster,
                "Sum",
                period=900,
                evaluation_periods=1,
            ),
        ]

    # ----------------------------------------------- the new revision's own signal

    def _target_group_specs(self, c: MonitoringConfig, t: MonitoringTargets) -> list[_Spec]:
        """Per target group (:mod:`stacks.components.rollback`), in :data:`TARGET_GROUP_ALARM_KEYS`
        order: its targets' 5xx share of its requests, then their p99 response time, each 0
        in a period of fewer than ``rollback_min_requests`` requests."""
        colours = (("blue", t.blue_target_group_arn_suffix), ("green", t.green_target_group_arn_suffix))
        floor, period = c.rollback_min_requests, c.rollback_period_seconds
        timing: dict[str, Any] = {"evaluation_periods": c.rollback_evaluation_periods, "datapoints_to_alarm": c.rollback_datapoints_to_alarm}
        quiet = f"at least {floor} requests a period"
        # No data (the idle colour, no traffic) is no failed request.
        rate = [
            _Spec(
                f"target-5xx-rate-{colour}",
                f"The {colour} target group's targets answer more than {c.rollback_5xx_rate_percent} % of its requests with a 5xx ({quiet})",
                "GreaterThanThreshold",
                c.rollback_5xx_rate_percent,
                "notBreaching",
                metric_query=self._target_group_query(suffix, ("rate", rate_expression(floor), "5xx % of requests"), RATE_METRICS, period),
                **timing,
            )
            for colour, suffix in colours
        ]
        latency = [
            _Spec(
                f"target-latency-p99-{colour}",
                f"The {colour} target group's p99 response time above {c.rollback_latency_p99_ms} ms ({quiet})",
                "GreaterThanThreshold",
                c.rollback_latency_p99_ms / 1000,
                "notBreaching",
                metric_query=self._target_group_query(suffix, ("p99", latency_expression(floor), "p99 response time (s)"), LATENCY_METRICS, period),
                **timing,
            )
            for colour, suffix in colours
        ]
        return [*rate, *latency]

    def _target_group_query(
        self, target_group_arn_suffix: str, returned: tuple[str, str, str], metrics: Sequence[tuple[str, str, str]], period: int
    ) -> list[Alarm.CloudwatchMetricAlarmMetricQuery]:
        """``returned`` (id, expression, label) over ``metrics`` (id, name, statistic) of one target group."""
        dimensions = {"TargetGroup": target_group_arn_suffix, "LoadBalancer": self._targets.alb_arn_suffix}
        id_, expression, label = returned
        return [
            Alarm.CloudwatchMetricAlarmMetricQuery(id=id_, expression=expression, label=label, return_data=True),
            *(
                Alarm.CloudwatchMetricAlarmMetricQuery(
                    id=metric_id,
                    return_data=False,
                    metric=Alarm.CloudwatchMetricAlarmMetricQueryMetric(namespace=ELB, metric_name=name, dimensions=dimensions, period=period, stat=stat),
                )
                for metric_id, name, stat in metrics
            ),
        ]

    # ----------------------------------------------------------- SLO burn rate

    def _burn_spec(self, window: BurnWindow) -> _Spec:
        """One window of the burn-rate page: the burn rate over the last ``window.minutes``
        (one period of that length; CloudWatch's evaluation window slides) above the
        pair's factor.  It only feeds the composite page and shows on the dashboard."""
        slo = self._config.availability_slo_percent
        return _Spec(
            window.key,
            f"Availability SLO {slo} %: error budget burning more than {window.factor}x over {window.label} (part of the {PAGE_KEY} page)",
            "GreaterThanThreshold",
            float(window.factor),
            # No requests, no errors: nothing burns.
            "notBreaching",
            metric_query=self._burn_query(window),
            evaluation_periods=1,
        )

    def _burn_query(self, window: BurnWindow) -> list[Alarm.CloudwatchMetricAlarmMetricQuery]:
        lb = {"LoadBalancer": self._targets.alb_arn_suffix}
        return [
            Alarm.CloudwatchMetricAlarmMetricQuery(
                id="burn", expression=burn_expression(self._config.error_budget), label=f"burn rate over {window.label}", return_data=True
            ),
            *(
                Alarm.CloudwatchMetricAlarmMetricQuery(
                    id=id_,
                    return_data=False,
                    metric=Alarm.CloudwatchMetricAlarmMetricQueryMetric(namespace=ELB, metric_name=name, dimensions=lb, period=window.seconds, stat="Sum"),
                )
                for id_, name in BURN_METRICS
            ),
        ]

    def _page(self) -> cloudwatch_composite_alarm.CloudwatchCompositeAlarm:
        """The page: either burn-rate pair with both windows in ALARM (by reference, so the
        window alarms exist first)."""
        slo = self._config.availability_slo_percent
        name = alarm_name(self._prefix, PAGE_KEY)
        pairs = "; ".join(f"{p.factor}x over {p.long.label} and {p.short.label}" for p in BURN_PAIRS)
        return cloudwatch_composite_alarm.CloudwatchCompositeAlarm(
            self,
            PAGE_KEY.replace("-", "_"),
            alarm_name=name,
            alarm_description=(
                f"{self._prefix}: availability SLO {slo} % over {SLO_PERIOD_DAYS} days: the error budget is burning ({pairs}). Runbook: README, Monitoring."
            ),
            alarm_rule=burn_rule({key: self.alarms[key].alarm_name for key in BURN_ALARM_KEYS}),
            alarm_actions=self.alarm_actions,
            ok_actions=self.alarm_actions,
            tags={"Name": name},
        )

    # ----------------------------------------------------------------- alarms

    def _specs(self, c: MonitoringConfig, t: MonitoringTargets) -> list[_Spec]:
        """The threshold alarms, in :data:`ALARM_KEYS` order: traffic, service, database, backlog."""
        return [*self._traffic_specs(c, t), *self._service_specs(c, t), *self._database_specs(c, t), *self._backlog_specs(c, t)]

    def _traffic_specs(self, c: MonitoringConfig, t: MonitoringTargets) -> list[_Spec]:
        """At the load balancer: errors, unhealthy targets of either colour, latency."""
        lb = {"LoadBalancer": t.alb_arn_suffix}
        gt, ge = "GreaterThanThreshold", "GreaterThanOrEqualToThreshold"
        return [
            # No traffic is not an error; FILL already covers quiet minutes.
            _Spec(
                "alb-5xx-rate",
                f"Load balancer 5xx responses above {c.alb_5xx_rate_percent} % of requests",
                gt,
                c.alb_5xx_rate_percent,
                "notBreaching",
                metric_query=self._rate_query(t),
            ),
            # The count is only published when a 5xx happens.
            _Spec(
                "target-5xx",
                f"{c.target_5xx_count} or more application 5xx responses per period",
                ge,
                c.target_5xx_count,
                "notBreaching",
                ELB,
                "HTTPCode_Target_5XX_Count",
                lb,
                "Sum",
            ),
            # The idle colour of a blue/green pair may have no targets and no data.
            *(
                _Spec(
                    f"unhealthy-hosts-{colour}",
                    f"{c.unhealthy_hosts} or more unhealthy targets in the {colour} target group",
                    ge,
                    c.unhealthy_hosts,
                    "notBreaching",
                    ELB,
                    "UnHealthyHostCount",
                    {"TargetGroup": suffix, **lb},
                    "Maximum",
                )
                for colour, suffix in (("blue", t.blue_target_group_arn_suffix), ("green", t.green_target_group_arn_suffix))
            ),
            # No requests, no latency to worry about.
            _Spec(
                "latency-p99",
                f"p99 target response time above {c.latency_p99_ms} ms",
                gt,
                c.latency_p99_ms / 1000,
                "notBreaching",
                ELB,
                "TargetResponseTime",
                lb,
                extended_statistic="p99",
            ),
        ]

    def _service_specs(self, c: MonitoringConfig, t: MonitoringTargets) -> list[_Spec]:
        """The ECS service: running tasks, CPU, memory."""
        svc = {"ClusterName": t.cluster_name, "ServiceName": t.service_name}
        gt, lt = "GreaterThanThreshold", "LessThanThreshold"
        return [
            # Silence means no task is reporting: that is the outage this alarm exists for.
            _Spec("running-tasks-low", f"Fewer than {t.min_tasks} tasks running", lt, t.min_tasks, "breaching", INSIGHTS, "RunningTaskCount", svc, "Average"),
            # Missing utilisation means no tasks, which running-tasks-low already reports.
            _Spec("ecs-cpu-high", f"Service CPU above {c.ecs_cpu_percent} %", gt, c.ecs_cpu_percent, "notBreaching", ECS, "CPUUtilization", svc, "Average"),
            _Spec(
                "ecs-memory-high",
                f"Service memory above {c.ecs_memory_percent} %",
                gt,
                c.ecs_memory_percent,
                "notBreaching",
                ECS,
                "MemoryUtilization",
                svc,
                "Average",
            ),
        ]

    def _database_specs(self, c: MonitoringConfig, t: MonitoringTargets) -> list[_Spec]:
        """The Aurora cluster: CPU, connections (too many, none), replica lag."""
        db = {"DBClusterIdentifier": t.db_cluster_identifier}
        gt, lt = "GreaterThanThreshold", "LessThanThreshold"
        return [
            # A database that stops reporting is caught by db-connections-zero.
            _Spec(
                "db-cpu-high",
                f"Aurora CPU above {c.db_cpu_percent} % on the busiest instance",
                gt,
                c.db_cpu_percent,
                "notBreaching",
                RDS,
                "CPUUtilization",
                db,
                "Maximum",
            ),
            _Spec(
                "db-connections-high",
                f"More than {c.db_connections} connections on one instance",
                gt,
                c.db_connections,
                "notBreaching",
                RDS,
                "DatabaseConnections",
                db,
                "Maximum",
            ),
            # No data is as bad as no connections: the service cannot reach the database.
            _Spec(
                "db-connections-zero", "No database connections: the service lost the database", lt, 1, "breaching", RDS, "DatabaseConnections", db, "Maximum"
            ),
            # No reader (or a failover in progress) publishes no lag; connectivity has its own alarm.
            _Spec(
                "db-replica-lag",
                f"Aurora replica lag above {c.replica_lag_ms} ms",
                gt,
                c.replica_lag_ms,
                "notBreaching",
                RDS,
                "AuroraReplicaLag",
                {**db, "Role": "READER"},
                "Maximum",
            ),
        ]

    def _backlog_specs(self, c: MonitoringConfig, t: MonitoringTargets) -> list[_Spec]:
        """The application's order backlog."""
        gt = "GreaterThanThreshold"
        return [
            # The application publishes the backlog while it runs; a stopped service is running-tasks-low.
            _Spec(
                "pending-orders-backlog",
                f"More than {c.pending_orders} orders pending",
                gt,
                c.pending_orders,
                "notBreaching",
                t.pending_orders_namespace,
                t.pending_orders_metric,
                t.backlog_dimensions,
                "Maximum",
            ),
        ]

    def _rate_query(self, t: MonitoringTargets) -> list[Alarm.CloudwatchMetricAlarmMetricQuery]:
        period = self._config.alarm_period_seconds

        def metric(id_: str, name: str) -> Alarm.CloudwatchMetricAlarmMetricQuery:
            return Alarm.CloudwatchMetricAlarmMetricQuery(
                id=id_,
                return_data=False,
                metric=Alarm.CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=ELB, metric_name=name, dimensions={"LoadBalancer": t.alb_arn_suffix}, period=period, stat="Sum"
                ),
            )

        return [
            # Minutes without 5xx count as 0 errors; minutes without requests as 1
            # request, so the rate is 0 rather than a division by zero.
            Alarm.CloudwatchMetricAlarmMetricQuery(
                id="rate", expression="100 * FILL(errors, 0) / FILL(requests, 1)", label="5xx % of requests", return_data=True
            ),
            metric("errors", "HTTPCode_ELB_5XX_Count"),
            metric("requests", "RequestCount"),
        ]

    def _alarm(self, spec: _Spec) -> Alarm.CloudwatchMetricAlarm:
        c = self._config
        name = alarm_name(self._prefix, spec.key)
        single: dict[str, Any] = {}
        if not spec.metric_query:
            single = {
                "namespace": spec.namespace,
                "metric_name": spec.metric,
                "dimensions": dict(spec.dimensions),
                "period": spec.period or c.alarm_period_seconds,
                "statistic": spec.statistic,
                "extended_statistic": spec.extended_statistic,
            }
        evaluation_periods = spec.evaluation_periods or c.alarm_evaluation_periods
        rollback = " Rolls back an ECS deployment." if spec.key in ROLLBACK_ALARM_KEYS else ""
        actions, channel = self._actions(spec.key)
        return Alarm.CloudwatchMetricAlarm(
            self,
            spec.key.replace("-", "_"),
            alarm_name=name,
            alarm_description=f"{self._prefix}: {spec.description}.{rollback}{channel}",
            comparison_operator=spec.comparison,
            threshold=spec.threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=min(spec.datapoints_to_alarm or c.alarm_datapoints_to_alarm, evaluation_periods),
            treat_missing_data=spec.treat_missing_data,
            metric_query=list(spec.metric_query) or None,
            alarm_actions=actions,
            ok_actions=actions,
            tags={"Name": name},
            **single,
        )

    def _actions(self, key: str) -> tuple[list[str] | None, str]:
        """Where an alarm notifies, on firing and on recovery, and what its description says of it."""
        if key in PAGING_ALARM_KEYS:
            return self.alarm_actions, ""
        if key in TICKET_ALARM_KEYS:
            return self.ticket_actions, " Ticket (non-paging)."
        # A burn-rate window: the composite page notifies for it.
        return None, " Dashboard only."

    # -------------------------------------------------------------- dashboard

    def _dashboard_body(self) -> dict[str, Any]:
        """The on-call dashboard, one row per concern (see :meth:`_header_rows`)."""
        rows = [
            *self._header_rows(),
            self._slo_row(),
            self._traffic_row(),
            self._target_group_row(),
            self._service_row(),
            self._database_row(),
            self._edge_row(),
        ]
        return {"start": "-PT3H", "periodOverride": "inherit", "widgets": _layout(rows)}

    def _graph(
        self,
        title: str,
        metrics: list[list[Any]],
        *,
        stat: str = "Average",
        threshold: float | None = None,
        label: str = "alarm",
        period: int | None = None,
    ) -> dict[str, Any]:
        """A time series widget at the alarm period (or ``period``), with the alarm threshold drawn in."""
        props: dict[str, Any] = {
            "title": title,
            "view": "timeSeries",
            "stacked": False,
            "region": self._aws.region,
            "period": period or self._config.alarm_period_seconds,
            "stat": stat,
            "metrics": metrics,
        }
        if threshold is not None:
            props["annotations"] = {"horizontal": [{"label": label, "value": threshold}]}
        return {"type": "metric", "properties": props}

    def _header_rows(self) -> list[list[dict[str, Any]]]:
        """What the dashboard shows and which alarm pages, then every alarm's state."""
        c = self._config
        text = (
            f"# {self._prefix}\n"
            f"The page is `{alarm_name(self._prefix, PAGE_KEY)}` (availability SLO {c.availability_slo_percent} % over "
            f"{SLO_PERIOD_DAYS} days); the cause alarms go to `{self._prefix}-{TICKET_TOPIC_SUFFIX}`. Rows: alarm states; the SLO and "
            "Fargate Spot; traffic at the load balancer; blue and green (a deployment's new revision); the ECS service; the Aurora "
            "cluster; WAF and the order backlog."
        )
        alarms = [self._aws.arn("cloudwatch", f"alarm:{n}") for n in self.alarm_names]
        return [
            [{"type": "text", "properties": {"markdown": text}}],
            [{"type": "alarm", "properties": {"title": "Alarms", "alarms": alarms, "sortBy": "stateUpdatedTimestamp"}}],
        ]

    def _traffic_row(self) -> list[dict[str, Any]]:
        t, c = self._targets, self._config
        lb = ["LoadBalancer", t.alb_arn_suffix]
        return [
            self._graph("ALB requests", [[ELB, "RequestCount", *lb]], stat="Sum"),
            self._graph(
                "ALB 4xx / 5xx",
                [
                    [ELB, metric, *lb]
                    for metric in ("HTTPCode_ELB_4XX_Count", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count")
                ],
                stat="Sum",
            ),
            self._graph(
                "Target response time p50 / p99 (s)",
                [[ELB, "TargetResponseTime", *lb, {"stat": "p50", "label": "p50"}], [ELB, "TargetResponseTime", *lb, {"stat": "p99", "label": "p99"}]],
                threshold=c.latency_p99_ms / 1000,
                label="p99 alarm",
            ),
        ]

    def _target_group_row(self) -> list[dict[str, Any]]:
        """Each target group's 5xx share and p99, as its rollback alarms compute them."""
        t, c = self._targets, self._config
        lb = ["LoadBalancer", t.alb_arn_suffix]
        colours = (("blue", t.blue_target_group_arn_suffix), ("green", t.green_target_group_arn_suffix))

        def per_colour(expression: Callable[[int, str], str], metrics: Sequence[tuple[str, str, str]]) -> list[list[Any]]:
            rows: list[list[Any]] = []
            for colour, suffix in colours:
                rows.append([{"expression": expression(c.rollback_min_requests, f"_{colour}"), "label": colour, "id": f"value_{colour}"}])
                rows += [[ELB, name, "TargetGroup", suffix, *lb, {"id": f"{id_}_{colour}", "stat": stat, "visible": False}] for id_, name, stat in metrics]
            return rows

        return [
            self._graph(
                "Blue / green: 5xx % of requests (rollback above)",
                per_colour(rate_expression, RATE_METRICS),
                period=c.rollback_period_seconds,
                threshold=c.rollback_5xx_rate_percent,
                label="rollback",
            ),
            self._graph(
                "Blue / green: p99 response time (s)",
                per_colour(latency_expression, LATENCY_METRICS),
                period=c.rollback_period_seconds,
                threshold=c.rollback_latency_p99_ms / 1000,
                label="rollback",
            ),
        ]

    def _service_row(self) -> list[dict[str, Any]]:
        t, c = self._targets, self._config
        lb = ["LoadBalancer", t.alb_arn_suffix]
        svc = ["ClusterName", t.cluster_name, "ServiceName", t.service_name]
        return [
            self._graph(
                "Healthy / unhealthy hosts",
                [
                    [ELB, metric, "TargetGroup", suffix, *lb, {"label": f"{colour} {metric}"}]
                    for colour, suffix in (("blue", t.blue_target_group_arn_suffix), ("green", t.green_target_group_arn_suffix))
                    for metric in ("HealthyHostCount", "UnHealthyHostCount")
                ],
                stat="Maximum",
            ),
            self._graph(
                "ECS CPU / memory % (Container Insights)",
                [
                    [{"expression": "100 * cpu_used / cpu_reserved", "label": "CPU %", "id": "cpu"}],
                    [{"expression": "100 * mem_used / mem_reserved", "label": "Memory %", "id": "mem"}],
                    [INSIGHTS, "CpuUtilized", *svc, {"id": "cpu_used", "visible": False}],
                    [INSIGHTS, "CpuReserved", *svc, {"id": "cpu_reserved", "visible": False}],
                    [INSIGHTS, "MemoryUtilized", *svc, {"id": "mem_used", "visible": False}],
                    [INSIGHTS, "MemoryReserved", *svc, {"id": "mem_reserved", "visible": False}],
                ],
                threshold=min(c.ecs_cpu_percent, c.ecs_memory_percent),
            ),
            self._graph(
                "Running vs desired tasks", [[INSIGHTS, "RunningTaskCount", *svc], [INSIGHTS, "DesiredTaskCount", *svc]], threshold=t.min_tasks, label="minimum"
            ),
        ]

    def _database_row(self) -> list[dict[str, Any]]:
        t, c = self._targets, self._config
        db = ["DBClusterIdentifier", t.db_cluster_identifier]
        return [
            self._graph("Aurora CPU %", [[RDS, "CPUUtilization", *db]], stat="Maximum", threshold=c.db_cpu_percent),
            self._graph("Aurora connections", [[RDS, "DatabaseConnections", *db]], stat="Maximum", threshold=c.db_connections),
            self._graph("Aurora replica lag (ms)", [[RDS, "AuroraReplicaLag", *db, "Role", "READER"]], stat="Maximum", threshold=c.replica_lag_ms),
            self._graph("Aurora freeable memory (bytes)", [[RDS, "FreeableMemory", *db]], stat="Minimum"),
        ]

    def _edge_row(self) -> list[dict[str, Any]]:
        t, c = self._targets, self._config
        return [
            self._graph(
                "WAF allowed vs blocked requests",
                [[WAF, metric, "WebACL", t.web_acl_name, "Region", self._aws.region, "Rule", "ALL"] for metric in ("AllowedRequests", "BlockedRequests")],
                stat="Sum",
            ),
            self._graph(
                f"{t.pending_orders_metric} (order backlog)",
                [[t.pending_orders_namespace, t.pending_orders_metric, *[v for kv in t.backlog_dimensions.items() for v in kv]]],
                stat="Maximum",
                threshold=c.pending_orders,
            ),
        ]

    def _slo_row(self) -> list[dict[str, Any]]:
        """Error budget left over the SLO period, the burn rate against the page's factors,
        and the counted Fargate Spot events."""
        t, c, region = self._targets, self._config, self._aws.region
        lb = ["LoadBalancer", t.alb_arn_suffix]

        def burn(suffix: str, label: str, period: int | None, *, visible: bool = True) -> list[list[Any]]:
            """The burn-rate expression ``burn<suffix>`` over metrics of ``period`` seconds
            (``None``: the widget's, e.g. its whole time range)."""
            options = {"stat": "Sum", "visible": False} | ({"period": period} if period else {})
            return [
                [{"expression": burn_expression(c.error_budget, suffix), "label": label, "id": f"burn{suffix}", "visible": visible}],
                *([ELB, name, *lb, {"id": f"{id_}{suffix}", **options}] for id_, name in BURN_METRICS),
            ]

        budget_left = {
            "title": f"Error budget left, last {SLO_PERIOD_DAYS} days (%)",
            "view": "singleValue",
            "region": region,
            "start": f"-P{SLO_PERIOD_DAYS}D",
            "setPeriodToTimeRange": True,
            "metrics": [
                [{"expression": "100 * (1 - burn_total)", "label": f"of the {c.error_budget:%} budget left", "id": "budget_left"}],
                # One value over the whole 30 days: no period of their own.
                *burn("_total", "burn rate", None, visible=False),
            ],
        }
        burn_rate = {
            "title": "SLO burn rate (1 = the budget lasts 30 days)",
            "view": "timeSeries",
            "stacked": False,
            "region": region,
            "period": 300,
            "metrics": [*burn("_5m", "5-minute burn rate", 300), *burn("_1h", "1-hour burn rate", 3600)],
            "annotations": {"horizontal": [{"label": f"{p.name} burn ({p.factor}x)", "value": float(p.factor)} for p in BURN_PAIRS]},
        }
        spot = {
            "title": "Fargate Spot interruptions / placement failures",
            "view": "timeSeries",
            "stacked": False,
            "region": region,
            "period": 300,
            "stat": "Sum",
            "metrics": [[EVENTS_NAMESPACE, metric, "ClusterArn", self._cluster_arn] for _, metric, _ in EVENT_METRICS],
        }
        return [{"type": "metric", "properties": props} for props in (budget_left, burn_rate, spot)]


def _layout(rows: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Place widgets on the 24-column grid: each row shares the width evenly."""
    widgets: list[dict[str, Any]] = []
    y = 0
    for row in rows:
        width = 24 // len(row)
        height = 2 if row[0]["type"] == "text" else 4 if row[0]["type"] == "alarm" else 6
        for i, widget in enumerate(row):
            widgets.append({"type": widget["type"], "x": i * width, "y": y, "width": width, "height": height, "properties": widget["properties"]})
        y += height
    return widgets
