"""One alert channel: an SNS topic encrypted with its own key, its policy and its subscribers.

An environment has two (:mod:`stacks.components.monitoring`): the page, and the
non-paging ticket channel of the cause alarms.  Both come from :func:`alert_channel`,
so they differ only in their data (:class:`ChannelSpec`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stacks.aws import sns_topic, sns_topic_policy, sns_topic_subscription
from stacks.components.common import AwsContext, Condition, EncryptionKey, Principal, Statement, deny_insecure_transport, policy_document
from stacks.framework import Construct


@dataclass(frozen=True)
class ChannelSpec:
    """What one channel is: its topic, who publishes to it, who is subscribed."""

    #: Prefix of its resources' construct ids (their Terraform addresses): the page's is
    #: empty, as it was before the second channel existed.
    id_prefix: str
    #: The topic's name, ``<name_prefix>-<suffix>``; also its key's alias.
    topic_name: str
    #: What the topic is for, in the display name and the key's description (``alarm``, ``ticket``).
    label: str
    emails: Sequence[str] = ()
    https_endpoints: Sequence[str] = ()
    #: An existing topic its alarms notify as well.
    external_topic_arn: str | None = None
    #: Names of the environment's event rules that publish to it (EventBridge then uses its key too).
    event_rule_names: Sequence[str] = ()


@dataclass(frozen=True)
class AlertChannel:
    """A built channel."""

    topic_arn: str
    key_arn: str
    #: Where its alarms send ALARM and OK: the topic, and the external one if any.
    actions: list[str]


def alert_channel(scope: Construct, *, spec: ChannelSpec, name_prefix: str, aws: AwsContext) -> AlertChannel:
    """The topic of ``spec`` in ``scope``: its own rotating key, which CloudWatch (and
    EventBridge, with event rules) of this account may use; a policy that lets only this
    account's ``<name_prefix>-*`` alarms and the named event rules publish, only over TLS;
    an e-mail or HTTPS subscription per subscriber (each must confirm)."""
    p, rules = spec.id_prefix, list(spec.event_rule_names)
    key = EncryptionKey(
        scope,
        f"{p}topic_key",
        alias=spec.topic_name,
        description=f"{name_prefix}: {spec.label} topic encryption",
        aws=aws,
        # The publishers encrypt what they publish with the topic's key.
        service_principals=["cloudwatch.amazonaws.com", *(["events.amazonaws.com"] if rules else [])],
    )
    topic = sns_topic.SnsTopic(
        scope, f"{p}topic", name=spec.topic_name, display_name=f"{name_prefix} {spec.label}s", kms_master_key_id=key.arn, tags={"Name": spec.topic_name}
    )
    statements = [
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
        )
    ]
    if rules:
        statements.append(
            Statement(
                sid="EventRulesOfThisEnvironment",
                effect="Allow",
                principals=[Principal(type="Service", identifiers=["events.amazonaws.com"])],
                actions=["sns:Publish"],
                resources=[topic.arn],
                condition=[Condition(test="ArnEquals", variable="aws:SourceArn", values=[aws.arn("events", f"rule/{name}") for name in rules])],
            )
        )
    statements.append(deny_insecure_transport(["sns:Publish"], [topic.arn]))
    sns_topic_policy.SnsTopicPolicy(scope, f"{p}topic_policy", arn=topic.arn, policy=policy_document(scope, f"{p}topic_policy_document", statements))
    for protocol, endpoints in (("email", spec.emails), ("https", spec.https_endpoints)):
        for i, endpoint in enumerate(endpoints):
            sns_topic_subscription.SnsTopicSubscription(scope, f"{p}{protocol}_subscription_{i}", topic_arn=topic.arn, protocol=protocol, endpoint=endpoint)
    return AlertChannel(topic_arn=topic.arn, key_arn=key.arn, actions=[topic.arn, *([spec.external_topic_arn] if spec.external_topic_arn else [])])
