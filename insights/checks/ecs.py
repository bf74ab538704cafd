"""ECS service checks: tasks short of the target, failed or stuck deployments, deployment
safety, scaling, utilisation (hot or oversized), platform version, observability and exposure."""

from __future__ import annotations

from collections.abc import Mapping

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import as_dict, as_list, days, fmt, metric, number, parse_date

KIND = "ecs.service"
SERVICE = "ecs"
DOCS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
NS = "AWS/ECS"
CPU_AVG, CPU_MAX = f"{NS}:CPUUtilization:Average", f"{NS}:CPUUtilization:Maximum"
MEMORY_AVG, MEMORY_MAX = f"{NS}:MemoryUtilization:Average", f"{NS}:MemoryUtilization:Maximum"
# Fargate Linux platform versions before 1.4.0 lack its security and networking fixes and are
# deprecated; Windows has its own line (1.0.0).
CURRENT_LINUX_PLATFORM = (1, 4, 0)


@check(
    id="ecs-tasks-below-desired",
    title="ECS service running fewer tasks than desired",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="The service runs fewer tasks than its desired count: tasks fail to start or keep stopping (failing health "
    "checks, an image that cannot be pulled, out of memory, no capacity). It serves with less capacity than it "
    "was sized for, or not at all.",
    fix="Read the service's events and the stopped tasks' reasons (ECS console → Service → Events and Tasks → "
    "Stopped, `aws ecs describe-tasks`), fix the cause (image, health check, task memory, subnet or capacity), and "
    "watch the running count recover.",
    docs_url=DOCS + "stopped-task-errors.html",
    thresholds={},
)
def tasks_below_desired(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    desired, running = number(inp.config.get("desired_count")), number(inp.config.get("running_count"))
    if desired is None or running is None:
        return None
    pending = number(inp.config.get("pending_count")) or 0
    evidence = {"desired_count": desired, "running_count": running, "pending_count": pending}
    if running < desired:
        return Result(
            False,
            evidence,
            f"Only {fmt(running)} of {fmt(desired)} desired tasks were running ({fmt(pending)} pending) when last "
            "discovered.",
        )
    return Result(True, evidence, f"{fmt(running)} of {fmt(desired)} desired tasks were running.")


def _primary(inp: CheckInput) -> Mapping[str, object] | None:
    deployments = [as_dict(d) for d in as_list(inp.config.get("deployments"))]
    return next((d for d in deployments if d.get("status") == "PRIMARY"), None)


@check(
    id="ecs-deployment-failed",
    title="ECS deployment failed or stuck",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="The service's latest deployment failed (or the circuit breaker rolled it back), or has been in progress "
    "for more than a day: the version you meant to ship is not what runs, and a stuck rollout keeps old and new "
    "tasks side by side.",
    fix="Read the deployment's rollout reason and the service events, fix what stops the new tasks from becoming "
    "healthy (image, health check grace period, task size, dependencies), and deploy again; enable the deployment "
    "circuit breaker so failures end and roll back by themselves.",
    docs_url=DOCS + "deployment-circuit-breaker.html",
    thresholds={"stuck_days": 1},
)
def deployment_failed(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    primary = _primary(inp)
    if primary is None:
        return None
    state, reason = str(primary.get("rollout_state") or ""), str(primary.get("rollout_reason") or "")
    evidence = {
        "deployment": primary.get("id"),
        "rollout_state": state or None,
        "rollout_reason": reason or None,
        "task_definition": primary.get("task_definition"),
        "created_at": primary.get("created_at"),
    }
    if state == "FAILED":
        return Result(False, evidence, f"The latest deployment failed: {reason.rstrip('.') or 'no reason given'}.")
    if "circuit breaker" in reason.lower() and "rolling back" in reason.lower():
        return Result(False, evidence, "The circuit breaker rolled the last deployment back.")
    started, today = parse_date(primary.get("created_at")), parse_date(inp.today)
    if state == "IN_PROGRESS" and started and today and (today - started).days >= th["stuck_days"]:
        age = (today - started).days
        return Result(False, evidence, f"The deployment has been in progress since {started.isoformat()} ({age} days).")
    return Result(True, evidence, f"The latest deployment is {state.lower().replace('_', ' ') or 'active'}.")


@check(
    id="ecs-no-circuit-breaker",
    title="ECS deployment circuit breaker off",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Without the deployment circuit breaker a deployment whose tasks never become healthy retries launching "
    "them indefinitely: the rollout never ends, and nothing rolls back to the version that worked.",
    fix="Enable it with rollback (Service → Update → Deployment options → Deployment circuit breaker, or "
    "`deploymentConfiguration.deploymentCircuitBreaker = {enable: true, rollback: true}`), and alarm on failed "
    "deployments.",
    docs_url=DOCS + "deployment-circuit-breaker.html",
    thresholds={},
)
def no_circuit_breaker(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    breaker = inp.config.get("circuit_breaker")
    if not isinstance(breaker, Mapping) or inp.config.get("deployment_controller") not in (None, "ECS"):
        return None
    evidence = {"enable": bool(breaker.get("enable")), "rollback": bool(breaker.get("rollback"))}
    if not breaker.get("enable"):
        return Result(False, evidence, "Rolling deployments have no circuit breaker.")
    if not breaker.get("rollback"):
        return Result(True, evidence, "The circuit breaker stops failed deployments (without rolling back).")
    return Result(True, evidence, "The circuit breaker stops and rolls back failed deployments.")


@check(
    id="ecs-no-auto-scaling",
    title="ECS service without auto scaling",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="info",
    why="The service's task count is fixed: a traffic peak above what its tasks serve slows or drops requests, and "
    "the quiet hours pay for the peak's tasks.",
    fix="Register the service as a scalable target and add a target-tracking policy on CPU, memory or requests per "
    "target (Service → Update → Service auto scaling, or `aws application-autoscaling register-scalable-target` and "
    "`put-scaling-policy`).",
    docs_url=DOCS + "service-auto-scaling.html",
    thresholds={},
)
def no_auto_scaling(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    # Absent: the scalable targets could not be read. DAEMON services run one task per instance.
    if "auto_scaling" not in inp.config or inp.config.get("scheduling_strategy") == "DAEMON":
        return None
    if inp.config.get("desired_count") is None:
        return None
    scaling = inp.config.get("auto_scaling")
    evidence = {"auto_scaling": scaling, "desired_count": inp.config.get("desired_count")}
    if isinstance(scaling, Mapping):
        return Result(
            True, evidence, f"The service scales between {fmt(scaling.get('min'))} and {fmt(scaling.get('max'))} tasks."
        )
    return Result(False, evidence, f"The service runs a fixed {fmt(inp.config.get('desired_count'))} tasks.")


def _utilisation(inp: CheckInput, key: str, what: str, threshold: float) -> Result | None:
    average = metric(inp, key)
    if average is None:
        return None
    peak = metric(inp, key.replace(":Average", ":Maximum"))
    evidence = {"average_percent": round(average, 2), "peak_percent": peak, "threshold_percent": threshold}
    sentence = f"{what} averaged {fmt(round(average, 1))} % over {days(inp)}"
    if average > threshold:
        return Result(False, evidence, f"{sentence}, above {fmt(threshold)} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="ecs-cpu-high",
    title="ECS service CPU consistently high",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="The service's tasks used more than 80 % of their CPU on average: latency rises with any extra load, and "
    "there is no headroom for a peak, a retry storm or a task lost.",
    fix="Add tasks (raise the desired count, or the auto scaling maximum with a lower CPU target), give the task "
    "definition more CPU, or profile the hot path.",
    docs_url=DOCS + "cloudwatch-metrics.html",
    thresholds={"cpu_percent": 80.0},
)
def cpu_high(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _utilisation(inp, CPU_AVG, "CPU utilisation", th["cpu_percent"])


@check(
    id="ecs-memory-high",
    title="ECS service memory consistently high",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="The service's tasks used more than 80 % of their memory on average. A container that reaches its hard "
    "limit is killed (OutOfMemoryError, exit code 137) and its in-flight work is lost.",
    fix="Give the task definition (or the container's hard limit) more memory, add tasks so each holds less, or "
    "look for a leak if memory grows with the task's age.",
    docs_url=DOCS + "cloudwatch-metrics.html",
    thresholds={"memory_percent": 80.0},
)
def memory_high(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _utilisation(inp, MEMORY_AVG, "Memory utilisation", th["memory_percent"])


@check(
    id="ecs-over-provisioned",
    title="ECS tasks larger than they need",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="The service's tasks used under 10 % of their CPU and under 30 % of their memory on average. Fargate bills "
    "the task size (vCPU and GB per second) whatever is used, and on EC2 the reservation blocks the instance for "
    "other tasks.",
    fix="Register a task definition with less CPU and memory (halving both halves the Fargate bill), or run fewer "
    "tasks; keep a margin above the peak utilisation shown in the evidence.",
    docs_url=DOCS + "capacity-tasksize.html",
    thresholds={"cpu_percent": 10.0, "memory_percent": 30.0},
)
def over_provisioned(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    cpu, memory = metric(inp, CPU_AVG), metric(inp, MEMORY_AVG)
    if cpu is None or memory is None:
        return None
    evidence = {
        "cpu_average_percent": round(cpu, 2),
        "memory_average_percent": round(memory, 2),
        "cpu_peak_percent": metric(inp, CPU_MAX),
        "memory_peak_percent": metric(inp, MEMORY_MAX),
        "task_cpu": inp.config.get("task_cpu"),
        "task_memory_mb": inp.config.get("task_memory_mb"),
    }
    sentence = f"Tasks averaged {fmt(round(cpu, 1))} % CPU and {fmt(round(memory, 1))} % memory over {days(inp)}"
    if cpu < th["cpu_percent"] and memory < th["memory_percent"]:
        return Result(False, evidence, f"{sentence}: they are larger than they need.")
    return Result(True, evidence, f"{sentence}.")


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


@check(
    id="ecs-fargate-platform-outdated",
    title="ECS Fargate platform version outdated",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="The service pins a Fargate platform version older than 1.4.0. Old platform versions miss kernel and runtime "
    "security fixes and features (EFS volumes, larger ephemeral storage, network metrics), and AWS retires them.",
    fix="Set the platform version to LATEST (or 1.4.0) and force a new deployment (`aws ecs update-service "
    "--platform-version LATEST --force-new-deployment`); tasks then move to the current platform.",
    docs_url=DOCS + "platform-linux-fargate.html",
    thresholds={},
)
def fargate_platform_outdated(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    pinned = inp.config.get("platform_version")
    if inp.config.get("launch_type") != "FARGATE" or not isinstance(pinned, str) or not pinned:
        return None
    if str(inp.config.get("os_family") or "LINUX").upper() != "LINUX":
        return None  # Windows containers on Fargate have their own version line
    evidence = {"platform_version": pinned}
    version = _version(pinned)
    if pinned.upper() == "LATEST" or version is None:
        return Result(True, evidence, f"The service runs on the {pinned} platform version.")
    if version < CURRENT_LINUX_PLATFORM:
        return Result(False, evidence, f"The service is pinned to platform version {pinned}.")
    return Result(True, evidence, f"The service is pinned to a current platform version ({pinned}).")


@check(
    id="ecs-no-container-insights",
    title="ECS cluster without Container Insights",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="info",
    why="Container Insights is off on the service's cluster: CloudWatch then has no task counts, no per-task or "
    "per-container CPU, memory, network and storage, and no restart counts, so a service losing tasks is seen only "
    "by polling.",
    fix="Turn it on for the cluster (`aws ecs update-cluster-settings --cluster <name> --settings "
    "name=containerInsights,value=enabled`); its metrics are billed as custom metrics.",
    docs_url=DOCS + "cloudwatch-container-insights.html",
    thresholds={},
)
def no_container_insights(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    enabled = inp.config.get("container_insights")
    if not isinstance(enabled, bool):
        return None
    evidence = {"cluster": inp.config.get("cluster"), "container_insights": enabled}
    if enabled:
        return Result(True, evidence, f"Cluster {inp.config.get('cluster')} has Container Insights.")
    return Result(False, evidence, f"Cluster {inp.config.get('cluster')} has Container Insights off.")


@check(
    id="ecs-public-ip",
    title="ECS tasks get public IP addresses",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="The service's tasks receive public IP addresses: each task is reachable from the internet wherever its "
    "security group allows, and one misconfigured rule exposes it.",
    fix="Run the tasks in private subnets with assignPublicIp DISABLED; reach the internet through a NAT gateway "
    "and AWS services through VPC endpoints, and put a load balancer in front of what must be public.",
    docs_url=DOCS + "fargate-task-networking.html",
    thresholds={},
)
def public_ip(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    assigned = inp.config.get("assign_public_ip")
    if not isinstance(assigned, bool):
        return None
    evidence = {"assign_public_ip": assigned}
    if assigned:
        return Result(False, evidence, "Tasks are assigned public IP addresses.")
    return Result(True, evidence, "Tasks have private addresses only.")


@check(
    id="ecs-container-without-logging",
    title="ECS container logs go nowhere",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="warning",
    why="A container of the service's task definition has no log configuration: what it prints is lost when the "
    "task stops, so a crash leaves no trace to diagnose.",
    fix="Add a logConfiguration to each container (logDriver awslogs with awslogs-group, -region and "
    "-stream-prefix, or awsfirelens) in a new task definition revision, and deploy it.",
    docs_url=DOCS + "using_awslogs.html",
    thresholds={},
)
def container_without_logging(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    containers = [as_dict(c) for c in as_list(inp.config.get("containers"))]
    if not containers:
        return None
    silent = sorted(str(c.get("name")) for c in containers if not c.get("log_driver"))
    evidence = {"containers_without_logging": silent, "task_definition": inp.config.get("task_definition")}
    if silent:
        return Result(False, evidence, f"No log driver for {', '.join(silent)}.")
    return Result(True, evidence, "Every container sends its logs to a log driver.")
