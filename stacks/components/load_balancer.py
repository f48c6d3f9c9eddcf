"""Internet-facing ALB with blue and green target groups for ECS blue/green deployments."""

from __future__ import annotations

from collections.abc import Sequence

from stacks.aws import (
    acm_certificate,
    acm_certificate_validation,
    data_aws_route53_zone,
    lb,
    lb_listener,
    lb_listener_rule,
    lb_target_group,
    route53_record,
    s3_bucket,
    s3_bucket_lifecycle_configuration,
    s3_bucket_policy,
)
from stacks.components.common import AwsContext, Principal, Statement, deny_insecure_transport, harden_bucket, named_security_group, policy_document, tcp_rule
from stacks.config import ELB_LOG_DELIVERY_PRINCIPAL, REGIONS, LoadBalancerConfig
from stacks.framework import Construct, TerraformResourceLifecycle

lc = s3_bucket_lifecycle_configuration

#: ECS shifts traffic by rewriting the forward weights of the listener rules (and the
#: listeners' default forward, which it may rewrite too): Terraform leaves them alone.
ECS_MANAGED = TerraformResourceLifecycle(ignore_changes=["action"])
ECS_MANAGED_LISTENER = TerraformResourceLifecycle(ignore_changes=["default_action"])


class LoadBalancer(Construct):
    """The ALB in the public subnets, its security group, listeners and target groups.

    - Production listener: HTTPS 443 (TLS 1.3 policy) with HTTP 80 redirecting to it,
      or plain HTTP 80 when the environment has no certificate (dev only).
    - Test listener on ``test_listener_port``, reachable only from ``test_listener_cidrs``.
    - Both listeners forward to blue by default, and one rule on each forwards to the
      blue and green target groups; ECS owns their weights during deployments
      (Terraform ignores changes to the rules' actions and the default actions).
    - :meth:`allow_test_traffic` admits more sources on the test port (the smoke test's).
    - Drops invalid header fields, strictest desync mitigation, access logs to a
      private, encrypted bucket with expiry, deletion protection from config.

    Built in named steps: :meth:`_security_group`, :meth:`_alb` (with
    :meth:`_access_log_bucket`), the blue and green :meth:`_target_group`,
    :meth:`_listeners` (with :meth:`_certificate`), and the alias record of the domain.

    Attributes: ``arn``, ``arn_suffix``, ``dns_name``, ``url``, ``security_group_id``,
    ``blue_target_group``, ``green_target_group``, ``production_listener_arn``,
    ``test_listener_arn``, ``production_rule_arn``, ``test_rule_arn``,
    ``test_listener_url`` (scheme, host and port, no path).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        config: LoadBalancerConfig,
        aws: AwsContext,
        vpc_id: str,
        public_subnet_ids: Sequence[str],
        target_port: int,
        health_check_path: str,
        deregistration_delay_seconds: int,
        deletion_protection: bool,
        disposable: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        self._prefix = name_prefix
        self._security_group(name_prefix, config, vpc_id)
        self._alb(name_prefix, config, aws, public_subnet_ids, deletion_protection=deletion_protection, disposable=disposable)
        self.blue_target_group = self._target_group("blue", name_prefix, config, vpc_id, target_port, health_check_path, deregistration_delay_seconds)
        self.green_target_group = self._target_group("green", name_prefix, config, vpc_id, target_port, health_check_path, deregistration_delay_seconds)
        self._listeners(config)
        if config.domain_name and config.hosted_zone_name:
            route53_record.Route53Record(
                self,
                "alias",
                zone_id=self._zone_id,
                name=config.domain_name,
                type="A",
                alias=route53_record.Route53RecordAlias(name=self.alb.dns_name, zone_id=self.alb.zone_id, evaluate_target_health=True),
            )

    def _security_group(self, name_prefix: str, config: LoadBalancerConfig, vpc_id: str) -> None:
        """HTTP (and HTTPS) from the internet, the test port from the allowed networks."""
        self.security_group = named_security_group(
            self,
            "security_group",
            name=f"{name_prefix}-alb",
            description="Order API load balancer: HTTP(S) from the internet, test port from allowed CIDRs",
            vpc_id=vpc_id,
        )
        self.security_group_id = self.security_group.id
        for port in (80, 443) if config.https else (80,):
            self._ingress(f"ingress_{port}", port, "0.0.0.0/0", f"port {port} from the internet")
        for i, cidr in enumerate(config.test_listener_cidrs):
            self._ingress(f"ingress_test_{i}", config.test_listener_port, cidr, "test listener from an allowed network")

    def _alb(
        self, name_prefix: str, config: LoadBalancerConfig, aws: AwsContext, public_subnet_ids: Sequence[str], *, deletion_protection: bool, disposable: bool
    ) -> None:
        """The load balancer in the public subnets, logging to its access log bucket (created first)."""
        logs_bucket = self._access_log_bucket(name_prefix, config, aws, disposable)
        self.alb = lb.Lb(
            self,
            "alb",
            name=f"{name_prefix}-alb",
            internal=False,
            load_balancer_type="application",
            subnets=list(public_subnet_ids),
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_deletion_protection=deletion_protection,
            idle_timeout=config.idle_timeout_seconds,
            access_logs=lb.LbAccessLogs(bucket=logs_bucket.id, enabled=True, prefix="alb"),
            depends_on=[self._bucket_policy],
        )
        self.arn = self.alb.arn
        self.arn_suffix = self.alb.arn_suffix
        self.dns_name = self.alb.dns_name

    def _listeners(self, config: LoadBalancerConfig) -> None:
        """HTTPS with an HTTP redirect when there is a certificate (else HTTP), the production
        and test listeners and their rules, and the URLs they serve."""
        certificate_arn = self._certificate(config)
        protocol = "HTTPS" if certificate_arn else "HTTP"
        if certificate_arn:
            lb_listener.LbListener(
                self,
                "http_redirect",
                load_balancer_arn=self.alb.arn,
                port=80,
                protocol="HTTP",
                default_action=[
                    lb_listener.LbListenerDefaultAction(
                        type="redirect",
                        redirect=lb_listener.LbListenerDefaultActionRedirect(port="443", protocol="HTTPS", status_code="HTTP_301"),
                    )
                ],
            )
        production = self._listener("production_listener", 443 if certificate_arn else 80, protocol, config, certificate_arn)
        test = self._listener("test_listener", config.test_listener_port, protocol, config, certificate_arn)
        self.production_listener_arn = production.arn
        self.test_listener_arn = test.arn
        self.production_rule_arn = self._rule("production_rule", production.arn).arn
        self.test_rule_arn = self._rule("test_rule", test.arn).arn
        self.url = f"{protocol.lower()}://{config.domain_name or self.alb.dns_name}"
        self.test_listener_url = f"{self.url}:{config.test_listener_port}"
        self._test_port = config.test_listener_port

    def allow_to_targets(self, security_group_id: str, port: int) -> None:
        """Let the ALB reach the targets' security group on ``port`` (its only egress)."""
        tcp_rule(
            self,
            "egress_to_targets",
            security_group_id=self.security_group.id,
            port=port,
            description="to the service tasks",
            peer_security_group_id=security_group_id,
            egress=True,
        )

    def allow_test_traffic(self, cidrs: Sequence[str], description: str) -> None:
        """Admit ``cidrs`` (plain blocks or references) on the test listener's port only."""
        for i, cidr in enumerate(cidrs):
            self._ingress(f"ingress_test_smoke_{i}", self._test_port, cidr, f"{description} ({i + 1} of {len(cidrs)})")

    def _ingress(self, id_: str, port: int, cidr: str, description: str) -> None:
        tcp_rule(self, id_, security_group_id=self.security_group.id, port=port, description=description, cidr=cidr)

    def _target_group(
        self, colour: str, prefix: str, config: LoadBalancerConfig, vpc_id: str, port: int, path: str, delay: int
    ) -> lb_target_group.LbTargetGroup:
        return lb_target_group.LbTargetGroup(
            self,
            f"{colour}_target_group",
            name=f"{prefix}-{colour}",
            port=port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=vpc_id,
            deregistration_delay=str(delay),
            health_check=lb_target_group.LbTargetGroupHealthCheck(
                enabled=True,
                path=path,
                protocol="HTTP",
                matcher=config.health_check_matcher,
                interval=config.health_check_interval_seconds,
                timeout=config.health_check_timeout_seconds,
                healthy_threshold=config.healthy_threshold,
                unhealthy_threshold=config.unhealthy_threshold,
            ),
            tags={"Name": f"{prefix}-{colour}", "deployment-colour": colour},
        )

    def _listener(self, id_: str, port: int, protocol: str, config: LoadBalancerConfig, certificate_arn: str | None) -> lb_listener.LbListener:
        """A listener that forwards to blue by default, as ECS blue/green expects (no mix of
        forward and fixed-response actions); its rule carries the traffic in practice."""
        return lb_listener.LbListener(
            self,
            id_,
            load_balancer_arn=self.alb.arn,
            port=port,
            protocol=protocol,
            ssl_policy=config.ssl_policy if certificate_arn else None,
            certificate_arn=certificate_arn,
            default_action=[lb_listener.LbListenerDefaultAction(type="forward", target_group_arn=self.blue_target_group.arn)],
            lifecycle=ECS_MANAGED_LISTENER,
        )

    def _rule(self, id_: str, listener_arn: str) -> lb_listener_rule.LbListenerRule:
        rule = lb_listener_rule
        return rule.LbListenerRule(
            self,
            id_,
            listener_arn=listener_arn,
            priority=1,
            condition=[rule.LbListenerRuleCondition(path_pattern=rule.LbListenerRuleConditionPathPattern(values=["/*"]))],
            action=[
                rule.LbListenerRuleAction(
                    type="forward",
                    forward=rule.LbListenerRuleActionForward(
                        target_group=[
                            rule.LbListenerRuleActionForwardTargetGroup(arn=self.blue_target_group.arn, weight=100),
                            rule.LbListenerRuleActionForwardTargetGroup(arn=self.green_target_group.arn, weight=0),
                        ]
                    ),
                )
            ],
            lifecycle=ECS_MANAGED,
        )

    def _certificate(self, config: LoadBalancerConfig) -> str | None:
        """An existing certificate (``certificate_arn``), or one created for ``domain_name``
        and DNS-validated in its zone; the zone is looked up whenever a domain is set (its
        alias record goes there too)."""
        zone = None
        if config.domain_name and config.hosted_zone_name:
            zone = data_aws_route53_zone.DataAwsRoute53Zone(self, "zone", name=config.hosted_zone_name, private_zone=False)
            self._zone_id = zone.zone_id
        if config.certificate_arn:
            return config.certificate_arn
        if zone is None or config.domain_name is None:
            return None
        cert = acm_certificate.AcmCertificate(
            self,
            "certificate",
            domain_name=config.domain_name,
            validation_method="DNS",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            tags={"Name": config.domain_name},
        )
        option = f"tolist({cert.fqn}.domain_validation_options)[0]"
        record = route53_record.Route53Record(
            self,
            "certificate_validation_record",
            zone_id=zone.zone_id,
            name=f"${{{option}.resource_record_name}}",
            type=f"${{{option}.resource_record_type}}",
            records=[f"${{{option}.resource_record_value}}"],
            ttl=60,
            allow_overwrite=True,
        )
        validation = acm_certificate_validation.AcmCertificateValidation(
            self, "certificate_validation", certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn]
        )
        return validation.certificate_arn

    def _access_log_bucket(self, prefix: str, config: LoadBalancerConfig, aws: AwsContext, disposable: bool) -> s3_bucket.S3Bucket:
        """Private bucket for ALB access logs.  ALB log delivery supports SSE-S3 only."""
        bucket = s3_bucket.S3Bucket(self, "access_logs_bucket", bucket_prefix=f"{prefix}-alb-logs-", force_destroy=disposable)
        harden_bucket(self, "access_logs", bucket.id, kms_key_arn=None)
        days = config.access_log_retention_days
        lc.S3BucketLifecycleConfiguration(
            self,
            "access_logs_lifecycle",
            bucket=bucket.id,
            rule=[
                lc.S3BucketLifecycleConfigurationRule(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=[lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    expiration=[lc.S3BucketLifecycleConfigurationRuleExpiration(days=days)],
                    noncurrent_version_expiration=[lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=1)],
                    abort_incomplete_multipart_upload=[lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=1)],
                )
            ],
        )
        # Log delivery: the service principal everywhere, plus the regional ELB account where
        # one exists (regions before August 2022; see stacks/config/regions.py).
        principals = [Principal(type="Service", identifiers=[ELB_LOG_DELIVERY_PRINCIPAL])]
        elb_account = REGIONS[aws.region].elb_account if aws.region in REGIONS else None
        if elb_account is not None:
            principals.insert(0, Principal(type="AWS", identifiers=[f"arn:{aws.partition}:iam::{elb_account}:root"]))
        log_objects = f"{bucket.arn}/alb/AWSLogs/{aws.account_id}/*"
        self._bucket_policy = s3_bucket_policy.S3BucketPolicy(
            self,
            "access_logs_policy",
            bucket=bucket.id,
            policy=policy_document(
                self,
                "access_logs_policy_document",
                [
                    Statement(
                        sid="AlbLogDelivery",
                        effect="Allow",
                        principals=principals,
                        actions=["s3:PutObject"],
                        resources=[log_objects],
                    ),
                    deny_insecure_transport(["s3:*"], [bucket.arn, f"{bucket.arn}/*"]),
                ],
            ),
        )
        return bucket
