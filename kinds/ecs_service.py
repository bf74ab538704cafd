"""ECS services: their cluster, launch type, task size, deployments, networking, logging and
auto scaling; CPU and memory utilisation per service.

A service is the unit people deploy and page on, so it is the kind; its cluster's settings
that matter to it (Container Insights) are kept in its configuration.

Task counts: CloudWatch's `AWS/ECS` namespace has no task count, and
`ECS/ContainerInsights` has one only where the cluster enables Container Insights. So the
running, pending and desired counts of each discovery are kept in the configuration (they
move only when tasks start or stop, which is worth a line in the change history), and the
Container Insights series are charted where they exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from kinds.base import AVG, MAX, Dimensions, KeyNumber, Kind, MetricSpec, Section, register
from kinds.describe import Context, ListingFailed, Snapshot, tags_from_list, to_int

KIND = "ecs.service"
NS = "AWS/ECS"
INSIGHTS_NS = "ECS/ContainerInsights"

ACTIONS = {
    "ecs:ListClusters": "list clusters",
    "ecs:DescribeClusters": "whether a cluster has Container Insights",
    "ecs:ListServices": "list the services of each cluster",
    "ecs:DescribeServices": "service launch type, task counts, deployments, networking and tags",
    "ecs:DescribeTaskDefinition": "task CPU and memory, and each container's log driver",
    "application-autoscaling:DescribeScalableTargets": "whether an ECS service scales automatically",
}

DESCRIBE_CLUSTERS_BATCH = 100  # DescribeClusters takes at most 100 clusters
DESCRIBE_SERVICES_BATCH = 10  # DescribeServices takes at most 10 services


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else None


def _clusters(ctx: Context, arns: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for batch in _batches(arns, DESCRIBE_CLUSTERS_BATCH):
        for cluster in ctx.call("ecs", "DescribeClusters", {}, clusters=batch, include=["SETTINGS"]).get(
            "clusters", []
        ):
            out[cluster.get("clusterArn", "")] = cluster
    return out


def _scalable_services(ctx: Context) -> dict[str, dict[str, Any]] | None:
    """{"service/<cluster>/<service>": {"min", "max"}} of the region's scaled ECS services;
    None when the read failed (its problem is recorded, and "no auto scaling" is then unknown)."""
    try:
        targets = list(
            ctx.paginate(
                "application-autoscaling", "DescribeScalableTargets", "ScalableTargets", ServiceNamespace="ecs"
            )
        )
    except ListingFailed:
        return None
    return {
        t["ResourceId"]: {"min": t.get("MinCapacity"), "max": t.get("MaxCapacity")}
        for t in targets
        if t.get("ScalableDimension") == "ecs:service:DesiredCount" and t.get("ResourceId")
    }


def _task_definition(detail: Mapping[str, Any]) -> dict[str, Any]:
    """What the checks and the page need of a task definition: its size and its containers'
    logging (images and names only: never environment values or secrets)."""
    return {
        "task_cpu": to_int(detail.get("cpu")),
        "task_memory_mb": to_int(detail.get("memory")),
        "network_mode": detail.get("networkMode"),
        "requires_compatibilities": sorted(detail.get("requiresCompatibilities") or []),
        "os_family": (detail.get("runtimePlatform") or {}).get("operatingSystemFamily", "LINUX"),
        "containers": [
            {
                "name": c.get("name"),
                "image": c.get("image"),
                "essential": c.get("essential", True),
                "log_driver": (c.get("logConfiguration") or {}).get("logDriver"),
            }
            for c in detail.get("containerDefinitions") or []
        ],
    }


def _launch_type(service: Mapping[str, Any]) -> str | None:
    if service.get("launchType"):
        return str(service["launchType"])
    providers = [s.get("capacityProvider", "") for s in service.get("capacityProviderStrategy") or []]
    if any(p.startswith("FARGATE") for p in providers):
        return "FARGATE"
    return "EC2" if providers else None


def _config(
    service: Mapping[str, Any],
    cluster: Mapping[str, Any] | None,
    cluster_name: str,
    task: Mapping[str, Any] | None,
    scaling: dict[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    deployment_config = service.get("deploymentConfiguration")
    breaker = (deployment_config or {}).get("deploymentCircuitBreaker")
    task_definition = str(service.get("taskDefinition") or "")
    config: dict[str, Any] = {
        "cluster": cluster_name,
        "cluster_arn": service.get("clusterArn"),
        "status": service.get("status"),
        "launch_type": _launch_type(service),
        "capacity_providers": [s.get("capacityProvider") for s in service.get("capacityProviderStrategy") or []],
        "platform_version": service.get("platformVersion"),
        "scheduling_strategy": service.get("schedulingStrategy", "REPLICA"),
        "desired_count": service.get("desiredCount"),
        "running_count": service.get("runningCount"),
        "pending_count": service.get("pendingCount"),
        "task_definition": task_definition.rsplit("/", 1)[-1] or None,
        "assign_public_ip": (network.get("assignPublicIp") == "ENABLED") if network else None,
        "load_balancers": sorted(
            str(lb.get("targetGroupArn") or lb.get("loadBalancerName") or "")
            for lb in service.get("loadBalancers") or []
        ),
        "deployment_controller": (service.get("deploymentController") or {}).get("type", "ECS"),
        "circuit_breaker": {"enable": bool(breaker.get("enable")), "rollback": bool(breaker.get("rollback"))}
        if breaker is not None
        else None,
        "minimum_healthy_percent": (deployment_config or {}).get("minimumHealthyPercent"),
        "maximum_percent": (deployment_config or {}).get("maximumPercent"),
        "deployments": [
            {
                "id": d.get("id"),
                "status": d.get("status"),
                "task_definition": str(d.get("taskDefinition") or "").rsplit("/", 1)[-1] or None,
                "rollout_state": d.get("rolloutState"),
                "rollout_reason": d.get("rolloutStateReason"),
                "created_at": _iso(d.get("createdAt")),
            }
            for d in service.get("deployments") or []
        ],
        "execute_command": bool(service.get("enableExecuteCommand")),
    }
    if cluster is not None:
        settings = {s.get("name"): s.get("value") for s in cluster.get("settings") or []}
        config["container_insights"] = settings.get("containerInsights") in {"enabled", "enhanced"}
    if task is not None:
        config.update(_task_definition(task))
    if scaling is not None:
        config["auto_scaling"] = scaling.get(f"service/{cluster_name}/{service.get('serviceName')}")
    return config


def describe(ctx: Context) -> list[Snapshot]:
    """1. List the clusters, describe them in batches of 100 (their settings).
    2. One DescribeScalableTargets listing for the region's ECS services.
    3. Per cluster: list its services, describe them in batches of 10 (with their tags).
    4. DescribeTaskDefinition once per distinct task definition of those services."""
    cluster_arns = list(ctx.paginate("ecs", "ListClusters", "clusterArns"))
    clusters = _clusters(ctx, cluster_arns) if cluster_arns else {}
    scaling = _scalable_services(ctx) if cluster_arns else {}
    task_definitions: dict[str, dict[str, Any] | None] = {}
    snapshots = []
    for cluster_arn in cluster_arns:
        cluster = clusters.get(cluster_arn)
        cluster_name = str((cluster or {}).get("clusterName") or cluster_arn.rsplit("/", 1)[-1])
        # A service ARN ends with its name: the name filters apply before DescribeServices.
        service_arns = [
            arn
            for arn in ctx.paginate("ecs", "ListServices", "serviceArns", cluster=cluster_arn)
            if ctx.wanted(KIND, arn.rsplit("/", 1)[-1])
        ]
        for batch in _batches(service_arns, DESCRIBE_SERVICES_BATCH):
            answer = ctx.call("ecs", "DescribeServices", {}, cluster=cluster_arn, services=batch, include=["TAGS"])
            for service in answer.get("services", []):
                if not service.get("serviceArn") or not service.get("serviceName"):
                    continue
                tags = tags_from_list(service.get("tags"), "key", "value")
                if not ctx.wanted(KIND, service["serviceName"], tags):
                    continue
                arn = service.get("taskDefinition")
                if arn and arn not in task_definitions:
                    task_definitions[arn] = ctx.call("ecs", "DescribeTaskDefinition", {}, taskDefinition=arn).get(
                        "taskDefinition"
                    )
                config = _config(service, cluster, cluster_name, task_definitions.get(arn or ""), scaling)
                snapshots.append(Snapshot(KIND, service["serviceArn"], service["serviceName"], config, tags))
    return snapshots


def dimensions(resource: Any) -> Dimensions:
    return [
        {"Name": "ClusterName", "Value": str((resource.config or {}).get("cluster", ""))},
        {"Name": "ServiceName", "Value": resource.name},
    ]


def details(config: Mapping[str, Any]) -> str:
    parts = [str(config[k]) for k in ("cluster", "launch_type") if config.get(k)]
    desired, running = config.get("desired_count"), config.get("running_count")
    if desired is not None and running is not None:
        parts.append(f"{running}/{desired} tasks")
    return " · ".join(parts)


register(
    Kind(
        id=KIND,
        key_numbers=(
            KeyNumber("CPU", (f"{NS}:CPUUtilization:Average",), "latest", "%"),
            KeyNumber("tasks running", (f"{INSIGHTS_NS}:RunningTaskCount:Average",), "latest"),
        ),
        label="ECS service",
        service="ecs",
        describe=describe,
        actions=ACTIONS,
        probes=(
            ("ecs", "ListClusters", {"maxResults": 1}),
            ("application-autoscaling", "DescribeScalableTargets", {"ServiceNamespace": "ecs", "MaxResults": 1}),
        ),
        dimensions=dimensions,
        metrics=(
            MetricSpec(NS, "CPUUtilization", (AVG, MAX)),
            MetricSpec(NS, "MemoryUtilization", (AVG, MAX)),
            MetricSpec(INSIGHTS_NS, "RunningTaskCount", (AVG,)),
            MetricSpec(INSIGHTS_NS, "DesiredTaskCount", (AVG,)),
        ),
        details=details,
        sections=(
            Section(
                "cpu",
                "CPU utilisation",
                "metrics",
                (f"{NS}:CPUUtilization:Average", f"{NS}:CPUUtilization:Maximum"),
                "%",
            ),
            Section(
                "memory",
                "Memory utilisation",
                "metrics",
                (f"{NS}:MemoryUtilization:Average", f"{NS}:MemoryUtilization:Maximum"),
                "%",
            ),
            Section(
                "tasks",
                "Running and desired tasks (Container Insights)",
                "metrics",
                (f"{INSIGHTS_NS}:RunningTaskCount:Average", f"{INSIGHTS_NS}:DesiredTaskCount:Average"),
            ),
            Section("configuration", "Configuration", "config"),
        ),
    )
)
