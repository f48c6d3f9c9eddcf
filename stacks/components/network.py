"""VPC over several AZs: public, private and isolated subnets, NAT, flow logs, endpoints."""

from __future__ import annotations

from stacks.aws import (
    default_security_group,
    eip,
    flow_log,
    internet_gateway,
    nat_gateway,
    route,
    route_table,
    route_table_association,
    subnet,
    vpc,
    vpc_endpoint,
)
from stacks.components.common import AwsContext, allow, inline_policy, log_group, named_security_group, service_role, tcp_rule
from stacks.config import NetworkConfig
from stacks.framework import Construct

#: Interface endpoints the private subnets need to run Fargate tasks without NAT.
INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm")

TIERS = ("public", "private", "isolated")


class Network(Construct):
    """The VPC and everything in it that is not owned by a workload.

    Tiers: ``public`` (ALB, NAT gateways; no public IPs on launch), ``private``
    (Fargate tasks; default route through NAT), ``isolated`` (database; no route
    off the VPC).  One route table per tier and AZ, so an AZ's traffic stays in
    its AZ.  The default security group is emptied.  Flow logs go to a
    KMS-encrypted log group.

    Built in named steps: :meth:`_vpc`, :meth:`_subnets`, :meth:`_nat_gateways`, the
    S3 gateway endpoint, the optional :meth:`_interface_endpoints`, :meth:`_flow_logs`.

    Attributes: ``vpc_id``, ``vpc_cidr``, ``public_subnet_ids``,
    ``private_subnet_ids``, ``isolated_subnet_ids``, ``availability_zones``,
    ``nat_public_ips``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        config: NetworkConfig,
        aws: AwsContext,
        log_retention_days: int,
        log_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        self.availability_zones = list(config.availability_zones(aws.region))
        igw = self._vpc(name_prefix, config)
        subnets, tables = self._subnets(name_prefix, config.subnet_plan)
        for i, rt in enumerate(tables["public"]):
            route.Route(self, f"public_internet_route_{i}", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id)
        self._nat_gateways(name_prefix, config, igw, subnets["public"], tables["private"])

        self.public_subnet_ids = [s.id for s in subnets["public"]]
        self.private_subnet_ids = [s.id for s in subnets["private"]]
        self.isolated_subnet_ids = [s.id for s in subnets["isolated"]]
        self.private_route_table_ids = [t.id for t in tables["private"]]

        # S3 (ECR image layers, among others) through a free gateway endpoint.
        vpc_endpoint.VpcEndpoint(
            self,
            "s3_endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{aws.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in tables["private"] + tables["isolated"]],
            tags={"Name": f"{name_prefix}-s3"},
        )
        if config.interface_endpoints:
            self._interface_endpoints(name_prefix, aws)

        self._flow_logs(name_prefix, config, aws, log_retention_days, log_key_arn)

    def _vpc(self, name_prefix: str, config: NetworkConfig) -> internet_gateway.InternetGateway:
        """The VPC, its default security group emptied, and its internet gateway (returned)."""
        self.vpc = vpc.Vpc(
            self,
            "vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{name_prefix}-vpc"},
        )
        self.vpc_id = self.vpc.id
        self.vpc_cidr = config.vpc_cidr

        # No rules: nothing may use the default security group.
        default_security_group.DefaultSecurityGroup(self, "default_security_group", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-default-closed"})

        return internet_gateway.InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-igw"})

    def _subnets(self, name_prefix: str, plan: dict[str, tuple[str, ...]]) -> tuple[dict[str, list[subnet.Subnet]], dict[str, list[route_table.RouteTable]]]:
        """Per tier and AZ, a subnet of the plan and a route table of its own; both by tier."""
        subnets: dict[str, list[subnet.Subnet]] = {tier: [] for tier in TIERS}
        tables: dict[str, list[route_table.RouteTable]] = {tier: [] for tier in TIERS}
        for tier in TIERS:
            for i, cidr in enumerate(plan[tier]):
                sn = subnet.Subnet(
                    self,
                    f"{tier}_subnet_{i}",
                    vpc_id=self.vpc.id,
                    cidr_block=cidr,
                    availability_zone=self.availability_zones[i],
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{name_prefix}-{tier}-{i}", "tier": tier},
                )
                rt = route_table.RouteTable(self, f"{tier}_route_table_{i}", vpc_id=self.vpc.id, tags={"Name": f"{name_prefix}-{tier}-{i}"})
                route_table_association.RouteTableAssociation(self, f"{tier}_route_table_association_{i}", subnet_id=sn.id, route_table_id=rt.id)
                subnets[tier].append(sn)
                tables[tier].append(rt)
        return subnets, tables

    def _nat_gateways(
        self,
        name_prefix: str,
        config: NetworkConfig,
        igw: internet_gateway.InternetGateway,
        public_subnets: list[subnet.Subnet],
        private_tables: list[route_table.RouteTable],
    ) -> None:
        """One NAT gateway per AZ (or one in all), and each private route table's default route through one."""
        nat_count = config.az_count if config.nat_gateways == "per_az" else 1
        nats = []
        #: Public addresses of the NAT gateways: where the private subnets' requests to
        #: internet addresses (the load balancer's included) come from.
        self.nat_public_ips: list[str] = []
        for i in range(nat_count):
            ip = eip.Eip(self, f"nat_eip_{i}", domain="vpc", tags={"Name": f"{name_prefix}-nat-{i}"})
            self.nat_public_ips.append(ip.public_ip)
            nats.append(
                nat_gateway.NatGateway(
                    self,
                    f"nat_gateway_{i}",
                    allocation_id=ip.allocation_id,
                    subnet_id=public_subnets[i].id,
                    tags={"Name": f"{name_prefix}-nat-{i}"},
                    depends_on=[igw],
                )
            )
        for i, rt in enumerate(private_tables):
            route.Route(
                self,
                f"private_nat_route_{i}",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[i % nat_count].id,
            )

    def _interface_endpoints(self, name_prefix: str, aws: AwsContext) -> None:
        """Interface endpoints of :data:`INTERFACE_ENDPOINT_SERVICES` in the private subnets, HTTPS from the VPC only."""
        sg = named_security_group(
            self,
            "endpoints_security_group",
            name=f"{name_prefix}-endpoints",
            description="HTTPS from inside the VPC to the interface endpoints",
            vpc_id=self.vpc.id,
        )
        tcp_rule(self, "endpoints_https_from_vpc", security_group_id=sg.id, port=443, description="HTTPS from the VPC", cidr=self.vpc_cidr)
        tcp_rule(
            self,
            "endpoints_egress_none_but_vpc",
            security_group_id=sg.id,
            port=443,
            description="Replies stay in the VPC",
            cidr=self.vpc_cidr,
            egress=True,
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            vpc_endpoint.VpcEndpoint(
                self,
                f"{service.replace('.', '_')}_endpoint",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{aws.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[sg.id],
                tags={"Name": f"{name_prefix}-{service}"},
            )

    def _flow_logs(self, name_prefix: str, config: NetworkConfig, aws: AwsContext, retention_days: int, key_arn: str) -> None:
        """Flow logs of the VPC to an encrypted log group, delivered with a role of their own."""
        group = log_group(
            self,
            "flow_log_group",
            name=f"/aws/vpc/{name_prefix}/flow-logs",
            retention_days=retention_days,
            kms_key_arn=key_arn,
        )
        role = service_role(
            self,
            "flow_log_role",
            name=f"{name_prefix}-vpc-flow-logs",
            service="vpc-flow-logs.amazonaws.com",
            aws=aws,
            description="VPC flow logs delivery to CloudWatch Logs",
        )
        inline_policy(
            self,
            "flow_log_role_policy",
            role=role,
            name="deliver-flow-logs",
            document_id="flow_log_policy",
            statements=[
                allow(
                    ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    [f"{group.arn}:*"],
                ),
                # The delivery service looks its destination up before writing.
                allow(["logs:DescribeLogGroups"], [aws.arn("logs", "log-group:*")]),
            ],
        )
        flow_log.FlowLog(
            self,
            "flow_log",
            vpc_id=self.vpc.id,
            traffic_type=config.flow_log_traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{name_prefix}-flow-logs"},
        )
