"""Alarms on an encrypted SNS topic, and the on-call dashboard of one environment."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stacks.aws import (
    cloudwatch_dashboard,
    cloudwatch_event_rule,
    cloudwatch_event_target,
    cloudwatch_metric_alarm,
    sns_topic,
    sns_topic_policy,
    sns_topic_subscription,
)
from stacks.components.common import AwsContext, Condition, EncryptionKey, Principal, Statement, deny_insecure_transport, policy_document
from stacks.config import ConfigError, MonitoringConfig
from stacks.framework import Construct

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

#: Alarms an ECS deployment rolls back on: the new revision is failing requests
#: or health checks.  Both target groups count: blue and green swap roles at
#: every deployment.
ROLLBACK_ALARM_KEYS = ("alb-5xx-rate", "target-5xx", "unhealthy-hosts-blue", "unhealthy-hosts-green")

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


class Monitoring(Construct):
    """Alarms, their SNS topic and the on-call dashboard of one environment.

    The topic ``<name_prefix>-alarms`` is encrypted with its own customer-managed
    key, which CloudWatch and EventBridge (this account only) may use; the topic
    policy lets only this account's ``<name_prefix>-*`` alarms and the
    environment's deployment rule publish, and only over TLS.  The rule
    ``<name_prefix>-deployment-failed`` sends one line per failed or rolled-back
    ECS deployment of the service (:func:`deployment_event_pattern`).  Subscriptions come from
    ``config.alarm_emails`` and ``config.alarm_https_endpoints``; with
    ``config.alarm_topic_arn`` every alarm also notifies that existing topic
    (e.g. the organisation's paging topic).

    Every alarm (names ``<name_prefix>-<key>``, keys in :data:`ALARM_KEYS`)
    notifies the topic when it fires and when it recovers.

    Attributes: ``topic_arn``, ``alarm_actions``, ``alarm_names``, ``alarms``
    (key -> alarm), ``rollback_alarm_names`` (references), ``dashboard_name``,
    ``dashboard_url``, ``key_arn``.
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
    ) -> None:
        super().__init__(scope, id_)
        self._prefix = name_prefix
        self._config = config
        self._aws = aws
        self._targets = targets

        self._topic(name_prefix, config, aws)
        specs = self._specs(config, targets)
        assert tuple(s.key for s in specs) == ALARM_KEYS
        self.alarms: dict[str, Alarm.CloudwatchMetricAlarm] = {spec.key: self._alarm(spec) for spec in specs}
        self.alarm_names = [alarm_name(name_prefix, key) for key in ALARM_KEYS]
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

    # ------------------------------------------------------------------ topic

    def _topic(self, name_prefix: str, config: MonitoringConfig, aws: AwsContext) -> None:
        topic_name = f"{name_prefix}-alarms"
        deployment_rule_name = f"{name_prefix}-deployment-failed"
        deployment_rule_arn = aws.arn("events", f"rule/{deployment_rule_name}")
        key = EncryptionKey(
            self,
            "topic_key",
            alias=f"{name_prefix}-alarms",
            description=f"{name_prefix}: alarm topic encryption",
            aws=aws,
            # CloudWatch (alarms) and EventBridge (deployment events) encrypt what they
            # publish with the topic's key.
            service_principals=["cloudwatch.amazonaws.com", "events.amazonaws.com"],
        )
        self.key_arn = key.arn
        topic = sns_topic.SnsTopic(self, "topic", name=topic_name, display_name=f"{name_prefix} alarms", kms_master_key_id=key.arn, tags={"Name": topic_name})
        self.topic_arn = topic.arn
        #: Where every alarm and OK notification goes: this topic, and the external one if configured.
        self.alarm_actions = [topic.arn, *([config.alarm_topic_arn] if config.alarm_topic_arn else [])]
        sns_topic_policy.SnsTopicPolicy(
            self,
            "topic_policy",
            arn=topic.arn,
            policy=policy_document(
                self,
                "topic_policy_document",
                [
                    Statement(
                        sid="CloudWatchAlarmsOfThisEnvironment",
                        effect="Allow",
                        principals=[Principal(type="Service", identifiers=["cloudwatch.amazonaws.com"])],
                        actions=["sns:Publish"],
                        resources=[topic.arn],
                        condition=[
                            Condition(test="StringEquals", variable="aws:SourceAccount", values=[aws.account_id]),
                            Condition(test="ArnLike", variable="aws:SourceArn", values=[aws.arn("cloudwatch", f"alarm:{name_prefix}-*")]),
                        ],
                    ),
                    Statement(
                        sid="DeploymentFailuresOfThisService",
                        effect="Allow",
                        principals=[Principal(type="Service", identifiers=["events.amazonaws.com"])],
                        actions=["sns:Publish"],
                        resources=[topic.arn],
                        condition=[Condition(test="ArnEquals", variable="aws:SourceArn", values=[deployment_rule_arn])],
                    ),
                    deny_insecure_transport(["sns:Publish"], [topic.arn]),
                ],
            ),
        )
        self._deployment_events(deployment_rule_name, topic.arn)
        for i, email in enumerate(config.alarm_emails):
            sns_topic_subscription.SnsTopicSubscription(self, f"email_subscription_{i}", topic_arn=topic.arn, protocol="email", endpoint=email)
        for i, url in enumerate(config.alarm_https_endpoints):
            sns_topic_subscription.SnsTopicSubscription(self, f"https_subscription_{i}", topic_arn=topic.arn, protocol="https", endpoint=url)

    def _deployment_events(self, rule_name: str, topic_arn: str) -> None:
        """Failed and rolled-back deployments of the service, as one readable line on the topic."""
        t, aws = self._targets, self._aws
        rule = cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "deployment_failed_rule",
            name=rule_name,
            description=f"{t.service_name}: ECS deployment failed or rolling back",
            event_pattern=json.dumps(deployment_event_pattern(aws.arn("ecs", f"service/{t.cluster_name}/{t.service_name}")), sort_keys=True),
        )
        cloudwatch_event_target.CloudwatchEventTarget(
            self,
            "deployment_failed_target",
            rule=rule.name,
            target_id="alarm-topic",
            arn=topic_arn,
            input_transformer=cloudwatch_event_target.CloudwatchEventTargetInputTransformer(
                input_paths=dict(DEPLOYMENT_EVENT_FIELDS), input_template=DEPLOYMENT_MESSAGE
            ),
        )

    # ----------------------------------------------------------------- alarms

    def _specs(self, c: MonitoringConfig, t: MonitoringTargets) -> list[_Spec]:
        lb = {"LoadBalancer": t.alb_arn_suffix}
        svc = {"ClusterName": t.cluster_name, "ServiceName": t.service_name}
        db = {"DBClusterIdentifier": t.db_cluster_identifier}
        gt, ge, lt = "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold"
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
                "period": c.alarm_period_seconds,
                "statistic": spec.statistic,
                "extended_statistic": spec.extended_statistic,
            }
        rollback = " Rolls back an ECS deployment." if spec.key in ROLLBACK_ALARM_KEYS else ""
        return Alarm.CloudwatchMetricAlarm(
            self,
            spec.key.replace("-", "_"),
            alarm_name=name,
            alarm_description=f"{self._prefix}: {spec.description}.{rollback}",
            comparison_operator=spec.comparison,
            threshold=spec.threshold,
            evaluation_periods=c.alarm_evaluation_periods,
            datapoints_to_alarm=c.alarm_datapoints_to_alarm,
            treat_missing_data=spec.treat_missing_data,
            metric_query=list(spec.metric_query) or None,
            alarm_actions=self.alarm_actions,
            ok_actions=self.alarm_actions,
            tags={"Name": name},
            **single,
        )

    # -------------------------------------------------------------- dashboard

    def _dashboard_body(self) -> dict[str, Any]:
        t, c, region = self._targets, self._config, self._aws.region
        lb = ["LoadBalancer", t.alb_arn_suffix]
        svc = ["ClusterName", t.cluster_name, "ServiceName", t.service_name]
        db = ["DBClusterIdentifier", t.db_cluster_identifier]
        period = c.alarm_period_seconds

        def graph(title: str, metrics: list[list[Any]], *, stat: str = "Average", threshold: float | None = None, label: str = "alarm") -> dict[str, Any]:
            props: dict[str, Any] = {
                "title": title,
                "view": "timeSeries",
                "stacked": False,
                "region": region,
                "period": period,
                "stat": stat,
                "metrics": metrics,
            }
            if threshold is not None:
                props["annotations"] = {"horizontal": [{"label": label, "value": threshold}]}
            return {"type": "metric", "properties": props}

        rows: list[list[dict[str, Any]]] = [
            [
                {
                    "type": "text",
                    "properties": {
                        "markdown": (
                            f"# {self._prefix}\n"
                            "Alarms notify the environment's alarm topic. Rows: alarm states; traffic at the load balancer; "
                            "the ECS service; the Aurora cluster; WAF and the order backlog."
                        )
                    },
                }
            ],
            [
                {
                    "type": "alarm",
                    "properties": {
                        "title": "Alarms",
                        "alarms": [self._aws.arn("cloudwatch", f"alarm:{n}") for n in self.alarm_names],
                        "sortBy": "stateUpdatedTimestamp",
                    },
                }
            ],
            [
                graph("ALB requests", [[ELB, "RequestCount", *lb]], stat="Sum"),
                graph(
                    "ALB 4xx / 5xx",
                    [
                        [ELB, "HTTPCode_ELB_4XX_Count", *lb],
                        [ELB, "HTTPCode_ELB_5XX_Count", *lb],
                        [ELB, "HTTPCode_Target_4XX_Count", *lb],
                        [ELB, "HTTPCode_Target_5XX_Count", *lb],
                    ],
                    stat="Sum",
                ),
                graph(
                    "Target response time p50 / p99 (s)",
                    [[ELB, "TargetResponseTime", *lb, {"stat": "p50", "label": "p50"}], [ELB, "TargetResponseTime", *lb, {"stat": "p99", "label": "p99"}]],
                    threshold=c.latency_p99_ms / 1000,
                    label="p99 alarm",
                ),
            ],
            [
                graph(
                    "Healthy / unhealthy hosts",
                    [
                        [ELB, metric, "TargetGroup", suffix, *lb, {"label": f"{colour} {metric}"}]
                        for colour, suffix in (("blue", t.blue_target_group_arn_suffix), ("green", t.green_target_group_arn_suffix))
                        for metric in ("HealthyHostCount", "UnHealthyHostCount")
                    ],
                    stat="Maximum",
                ),
                graph(
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
                graph(
                    "Running vs desired tasks",
                    [[INSIGHTS, "RunningTaskCount", *svc], [INSIGHTS, "DesiredTaskCount", *svc]],
                    threshold=t.min_tasks,
                    label="minimum",
                ),
            ],
            [
                graph("Aurora CPU %", [[RDS, "CPUUtilization", *db]], stat="Maximum", threshold=c.db_cpu_percent),
                graph("Aurora connections", [[RDS, "DatabaseConnections", *db]], stat="Maximum", threshold=c.db_connections),
                graph("Aurora replica lag (ms)", [[RDS, "AuroraReplicaLag", *db, "Role", "READER"]], stat="Maximum", threshold=c.replica_lag_ms),
                graph("Aurora freeable memory (bytes)", [[RDS, "FreeableMemory", *db]], stat="Minimum"),
            ],
            [
                graph(
                    "WAF allowed vs blocked requests",
                    [[WAF, metric, "WebACL", t.web_acl_name, "Region", region, "Rule", "ALL"] for metric in ("AllowedRequests", "BlockedRequests")],
                    stat="Sum",
                ),
                graph(
                    f"{t.pending_orders_metric} (order backlog)",
                    [[t.pending_orders_namespace, t.pending_orders_metric, *[v for kv in t.backlog_dimensions.items() for v in kv]]],
                    stat="Maximum",
                    threshold=c.pending_orders,
                ),
            ],
        ]
        return {"start": "-PT3H", "periodOverride": "inherit", "widgets": _layout(rows)}


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
