"""Application and Network Load Balancers (elbv2): two kinds, because CloudWatch publishes
them in different namespaces with different metrics (`AWS/ApplicationELB` requests, status
codes and response time; `AWS/NetworkELB` flows and bytes). One listing serves both.

Target health is volatile (it flips with every failing health check) and so is the number of
targets (autoscaling): the configuration keeps only whether a target group has targets at all
and, for Lambda targets, which functions; unhealthy hosts come from CloudWatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kinds.base import AVG, MAX, MIN, SUM, Dimensions, KeyNumber, Kind, MetricSpec, Section, register
from kinds.describe import Context, Snapshot, tags_from_list, to_int

ALB = "elb.application"
NLB = "elb.network"

ACTIONS = {
    "elasticloadbalancing:DescribeLoadBalancers": "list Application and Network Load Balancers",
    "elasticloadbalancing:DescribeListeners": "listeners: protocols, TLS policies, HTTP to HTTPS redirects",
    "elasticloadbalancing:DescribeTargetGroups": "target groups: target types and health checks",
    "elasticloadbalancing:DescribeTargetHealth": "whether a target group has targets, and which Lambda functions",
    "elasticloadbalancing:DescribeLoadBalancerAttributes": "access logs, deletion protection, idle timeout",
    "elasticloadbalancing:DescribeTags": "load balancer tags",
}

TAGS_PER_CALL = 20  # DescribeTags takes at most 20 ARNs
# DescribeTargetHealth is one call per target group: read at most this many per load balancer
# (a load balancer may have up to 100); the rest say "unknown".
TARGET_HEALTH_READS = 25
SECURE = {"HTTPS", "TLS"}

_TYPES = {"application": ALB, "network": NLB}
TARGET_GROUP = "TargetGroup"


def dimension(arn: str) -> str:
    """CloudWatch's LoadBalancer dimension: the ARN after `loadbalancer/` (`app/name/id`)."""
    return arn.split(":loadbalancer/", 1)[-1]


def target_group_dimension(arn: str) -> str:
    """CloudWatch's TargetGroup dimension: the ARN's resource part (`targetgroup/name/id`)."""
    return arn.rsplit(":", 1)[-1]


def _attributes(ctx: Context, arn: str) -> dict[str, str] | None:
    answer = ctx.call("elbv2", "DescribeLoadBalancerAttributes", None, LoadBalancerArn=arn)
    if answer is None:
        return None
    return {str(a.get("Key")): str(a.get("Value", "")) for a in answer.get("Attributes", [])}


def _flag(attributes: Mapping[str, str] | None, key: str) -> bool | None:
    if attributes is None or key not in attributes:
        return None
    return attributes[key].lower() == "true"


def _listener(listener: Mapping[str, Any], target_group_names: Mapping[str, str]) -> dict[str, Any]:
    protocol = listener.get("Protocol")
    actions = listener.get("DefaultActions") or []
    action = actions[0] if actions else {}
    forwards = [action.get("TargetGroupArn")] + [
        t.get("TargetGroupArn") for t in (action.get("ForwardConfig") or {}).get("TargetGroups", [])
    ]
    return {
        "port": listener.get("Port"),
        "protocol": protocol,
        # The API reports a policy on plain HTTP listeners too: it means something only with TLS.
        "ssl_policy": listener.get("SslPolicy") if protocol in SECURE else None,
        "certificates": len(listener.get("Certificates") or []),
        "default_action": action.get("Type"),
        "redirect_protocol": (action.get("RedirectConfig") or {}).get("Protocol"),
        "target_groups": sorted({target_group_names.get(a, a) for a in forwards if a}),
    }


def _target_group(ctx: Context, group: Mapping[str, Any], read_health: bool) -> dict[str, Any]:
    arn = group["TargetGroupArn"]
    target_type = group.get("TargetType")
    has_targets: bool | None = None
    functions: list[str] = []
    if read_health:
        health = ctx.call("elbv2", "DescribeTargetHealth", None, TargetGroupArn=arn)
        if health is not None:
            targets = [d.get("Target", {}).get("Id") for d in health.get("TargetHealthDescriptions", [])]
            has_targets = bool(targets)
            if target_type == "lambda":
                functions = sorted(str(t) for t in targets if t)
    return {
        "name": group.get("TargetGroupName"),
        "dimension": target_group_dimension(arn),
        "protocol": group.get("Protocol"),
        "port": group.get("Port"),
        "target_type": target_type,
        "health_check_enabled": group.get("HealthCheckEnabled"),
        "health_check_path": group.get("HealthCheckPath"),
        "health_check_interval_s": group.get("HealthCheckIntervalSeconds"),
        "has_targets": has_targets,
        "lambda_functions": functions,
    }


def _describe(ctx: Context, kind: str) -> list[Snapshot]:
    snapshots = []
    for lb in ctx.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers"):
        if _TYPES.get(lb.get("Type", "")) != kind:
            continue
        if not ctx.wanted(kind, lb.get("LoadBalancerName", lb["LoadBalancerArn"])):
            continue
        arn = lb["LoadBalancerArn"]
        groups = ctx.call("elbv2", "DescribeTargetGroups", {}, LoadBalancerArn=arn).get("TargetGroups", [])
        names = {g["TargetGroupArn"]: g.get("TargetGroupName") for g in groups}
        listeners = ctx.call("elbv2", "DescribeListeners", {}, LoadBalancerArn=arn).get("Listeners", [])
        attributes = _attributes(ctx, arn)
        config = {
            "type": lb.get("Type"),
            "scheme": lb.get("Scheme"),
            "dns_name": lb.get("DNSName"),
            "vpc_id": lb.get("VpcId"),
            "ip_address_type": lb.get("IpAddressType"),
            "availability_zones": sorted(z.get("ZoneName", "") for z in lb.get("AvailabilityZones", [])),
            "security_groups": sorted(lb.get("SecurityGroups") or []),
            "listeners": sorted(
                (_listener(listener, names) for listener in listeners), key=lambda x: (x["port"] or 0, x["protocol"])
            ),
            "target_groups": [
                _target_group(ctx, g, read_health=i < TARGET_HEALTH_READS)
                for i, g in enumerate(sorted(groups, key=lambda g: g.get("TargetGroupName", "")))
            ],
            "deletion_protection": _flag(attributes, "deletion_protection.enabled"),
            "access_logs": _flag(attributes, "access_logs.s3.enabled"),
            "idle_timeout_s": to_int((attributes or {}).get("idle_timeout.timeout_seconds")),
            "drop_invalid_header_fields": _flag(attributes, "routing.http.drop_invalid_header_fields.enabled"),
            "cross_zone": _flag(attributes, "load_balancing.cross_zone.enabled"),
        }
        snapshots.append(Snapshot(kind, arn, lb.get("LoadBalancerName", arn), config))
    by_arn = {s.arn: s for s in snapshots}
    arns = list(by_arn)
    for i in range(0, len(arns), TAGS_PER_CALL):
        answer = ctx.call("elbv2", "DescribeTags", {}, ResourceArns=arns[i : i + TAGS_PER_CALL])
        for description in answer.get("TagDescriptions", []):
            if description.get("ResourceArn") in by_arn:
                by_arn[description["ResourceArn"]].tags = tags_from_list(description.get("Tags"))
    return snapshots


def describe_application(ctx: Context) -> list[Snapshot]:
    return _describe(ctx, ALB)


def describe_network(ctx: Context) -> list[Snapshot]:
    return _describe(ctx, NLB)


def _dimensions(r: Any) -> Dimensions:
    return [{"Name": "LoadBalancer", "Value": dimension(r.arn)}]


def _parts(r: Any, name: str) -> list[str]:
    if name != TARGET_GROUP:
        return []
    groups = (r.config or {}).get("target_groups") or []
    return [str(g["dimension"]) for g in groups if isinstance(g, Mapping) and g.get("dimension")]


def details(config: Mapping[str, Any]) -> str:
    zones = len(config.get("availability_zones") or [])
    protocols = sorted({str(listener.get("protocol")) for listener in config.get("listeners") or []})
    parts = [str(config.get("scheme") or ""), f"{zones} AZ" + ("" if zones == 1 else "s") if zones else ""]
    return " · ".join(p for p in [*parts, ", ".join(protocols)] if p)


def _health(namespace: str) -> tuple[MetricSpec, ...]:
    return (
        MetricSpec(namespace, "UnHealthyHostCount", (MAX,), per=TARGET_GROUP),
        MetricSpec(namespace, "HealthyHostCount", (MIN,), per=TARGET_GROUP),
    )


def _targets_section(namespace: str) -> Section:
    return Section(
        "targets",
        "Target health",
        "metrics",
        (f"{namespace}:UnHealthyHostCount:Maximum", f"{namespace}:HealthyHostCount:Minimum"),
    )


APP = "AWS/ApplicationELB"
NET = "AWS/NetworkELB"

register(
    Kind(
        id=ALB,
        key_numbers=(
            KeyNumber("requests", (f"{APP}:RequestCount:Sum",)),
            KeyNumber(
                "target 5XX", (f"{APP}:HTTPCode_Target_5XX_Count:Sum",), unit="%", per=(f"{APP}:RequestCount:Sum",)
            ),
        ),
        label="Application Load Balancer",
        service="elb",
        describe=describe_application,
        actions=ACTIONS,
        probes=(("elbv2", "DescribeLoadBalancers", {"PageSize": 1}),),
        dimensions=_dimensions,
        metrics=(
            MetricSpec(APP, "RequestCount", (SUM,)),
            MetricSpec(APP, "HTTPCode_Target_5XX_Count", (SUM,)),
            MetricSpec(APP, "HTTPCode_Target_4XX_Count", (SUM,)),
            MetricSpec(APP, "HTTPCode_ELB_5XX_Count", (SUM,)),
            MetricSpec(APP, "TargetResponseTime", (AVG, "p95")),
            *_health(APP),
        ),
        details=details,
        sections=(
            Section(
                "requests",
                "Requests and errors",
                "metrics",
                (
                    f"{APP}:RequestCount:Sum",
                    f"{APP}:HTTPCode_Target_5XX_Count:Sum",
                    f"{APP}:HTTPCode_ELB_5XX_Count:Sum",
                    f"{APP}:HTTPCode_Target_4XX_Count:Sum",
                ),
            ),
            Section(
                "latency",
                "Target response time",
                "metrics",
                (f"{APP}:TargetResponseTime:p95", f"{APP}:TargetResponseTime:Average"),
                "s",
            ),
            _targets_section(APP),
            Section("configuration", "Listeners and target groups", "config"),
        ),
        parts=_parts,
    )
)
register(
    Kind(
        id=NLB,
        key_numbers=(
            KeyNumber("new flows", (f"{NET}:NewFlowCount:Sum",)),
            KeyNumber("target resets", (f"{NET}:TCP_Target_Reset_Count:Sum",)),
        ),
        label="Network Load Balancer",
        service="elb",
        describe=describe_network,
        actions=ACTIONS,
        # The Application Load Balancer's probe proves the same listing.
        probes=(),
        dimensions=_dimensions,
        metrics=(
            MetricSpec(NET, "ActiveFlowCount", (MAX,)),
            MetricSpec(NET, "NewFlowCount", (SUM,)),
            MetricSpec(NET, "ProcessedBytes", (SUM,)),
            MetricSpec(NET, "TCP_Target_Reset_Count", (SUM,)),
            MetricSpec(NET, "TCP_ELB_Reset_Count", (SUM,)),
            *_health(NET),
        ),
        details=details,
        sections=(
            Section("flows", "Flows", "metrics", (f"{NET}:ActiveFlowCount:Maximum", f"{NET}:NewFlowCount:Sum")),
            Section("bytes", "Processed bytes", "metrics", (f"{NET}:ProcessedBytes:Sum",), "bytes"),
            Section(
                "resets",
                "TCP resets",
                "metrics",
                (f"{NET}:TCP_Target_Reset_Count:Sum", f"{NET}:TCP_ELB_Reset_Count:Sum"),
            ),
            _targets_section(NET),
            Section("configuration", "Listeners and target groups", "config"),
        ),
        parts=_parts,
    )
)
