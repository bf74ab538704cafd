"""ECS service checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "ecs.service"
NAMES = {
    "cpu": "AWS/ECS:CPUUtilization:Average",
    "cpu_peak": "AWS/ECS:CPUUtilization:Maximum",
    "memory": "AWS/ECS:MemoryUtilization:Average",
    "memory_peak": "AWS/ECS:MemoryUtilization:Maximum",
}


def service(metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "cluster": "shop",
        "launch_type": "FARGATE",
        "platform_version": "LATEST",
        "scheduling_strategy": "REPLICA",
        "desired_count": 2,
        "running_count": 2,
        "pending_count": 0,
        "task_definition": "web:7",
        "task_cpu": 1024,
        "task_memory_mb": 2048,
        "os_family": "LINUX",
        "assign_public_ip": False,
        "deployment_controller": "ECS",
        "circuit_breaker": {"enable": True, "rollback": True},
        "deployments": [
            {
                "id": "ecs-svc/1",
                "status": "PRIMARY",
                "task_definition": "web:7",
                "rollout_state": "COMPLETED",
                "rollout_reason": "ECS deployment ecs-svc/1 completed.",
                "created_at": "2025-06-01T10:00:00+00:00",
            }
        ],
        "container_insights": True,
        "containers": [{"name": "app", "image": "web:1", "essential": True, "log_driver": "awslogs"}],
        "auto_scaling": {"min": 2, "max": 6},
        **cfg,
    }
    return make(KIND, config, metrics={NAMES[k]: v for k, v in (metrics or {}).items()}, today="2025-06-03")


def deployment(**changes: Any) -> list[dict[str, Any]]:
    return [{**service().config["deployments"][0], **changes}]


CASES = [
    Case(
        "ecs-tasks-below-desired",
        service(desired_count=3, running_count=0, pending_count=3),
        {"desired_count": 3.0, "running_count": 0.0, "pending_count": 3.0},
        service(),
        ("0 of 3",),
    ),
    Case(
        "ecs-deployment-failed",
        service(deployments=deployment(rollout_state="FAILED", rollout_reason="tasks failed to start.")),
        {"rollout_state": "FAILED", "deployment": "ecs-svc/1"},
        service(),
        ("tasks failed to start",),
    ),
    Case(
        "ecs-no-circuit-breaker",
        service(circuit_breaker={"enable": False, "rollback": False}),
        {"enable": False, "rollback": False},
        service(),
    ),
    Case(
        "ecs-no-auto-scaling",
        service(auto_scaling=None),
        {"auto_scaling": None, "desired_count": 2},
        service(),
        ("fixed 2 tasks",),
    ),
    Case(
        "ecs-cpu-high",
        service({"cpu": 91.5, "cpu_peak": 100}),
        {"average_percent": 91.5, "peak_percent": 100.0, "threshold_percent": 80.0},
        service({"cpu": 40}),
    ),
    Case(
        "ecs-memory-high",
        service({"memory": 86}),
        {"average_percent": 86.0, "threshold_percent": 80.0},
        service({"memory": 60}),
    ),
    Case(
        "ecs-over-provisioned",
        service({"cpu": 3.2, "memory": 7, "cpu_peak": 9}),
        {"cpu_average_percent": 3.2, "memory_average_percent": 7.0, "cpu_peak_percent": 9.0, "task_cpu": 1024},
        service({"cpu": 3.2, "memory": 45}),
    ),
    Case(
        "ecs-fargate-platform-outdated",
        service(platform_version="1.3.0"),
        {"platform_version": "1.3.0"},
        service(platform_version="1.4.0"),
    ),
    Case(
        "ecs-no-container-insights",
        service(container_insights=False),
        {"cluster": "shop", "container_insights": False},
        service(),
    ),
    Case("ecs-public-ip", service(assign_public_ip=True), {"assign_public_ip": True}, service()),
    Case(
        "ecs-container-without-logging",
        service(
            containers=[
                {"name": "app", "log_driver": "awslogs"},
                {"name": "sidecar", "log_driver": None},
            ]
        ),
        {"containers_without_logging": ["sidecar"], "task_definition": "web:7"},
        service(),
    ),
]


def test_every_ecs_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("ecs")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_a_rollout_rolled_back_by_the_circuit_breaker_fails() -> None:
    reason = "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/0."
    result = evaluate("ecs-deployment-failed", service(deployments=deployment(rollout_reason=reason)))
    assert result is not None and not result.passed


def test_a_deployment_in_progress_since_yesterday_is_stuck_but_one_from_today_is_not() -> None:
    stuck = service(deployments=deployment(rollout_state="IN_PROGRESS", created_at="2025-06-01T10:00:00+00:00"))
    fresh = service(deployments=deployment(rollout_state="IN_PROGRESS", created_at="2025-06-03T09:00:00+00:00"))
    result = evaluate("ecs-deployment-failed", stuck)
    assert result is not None and not result.passed and "since 2025-06-01" in result.message
    passed = evaluate("ecs-deployment-failed", fresh)
    assert passed is not None and passed.passed


def test_checks_that_cannot_judge_say_nothing() -> None:
    # Unknown circuit breaker (not described), unread scaling targets, daemons, Windows, EC2.
    assert evaluate("ecs-no-circuit-breaker", service(circuit_breaker=None)) is None
    unread = service()
    del_config = {k: v for k, v in unread.config.items() if k != "auto_scaling"}
    assert evaluate("ecs-no-auto-scaling", make(KIND, del_config)) is None
    assert evaluate("ecs-no-auto-scaling", service(auto_scaling=None, scheduling_strategy="DAEMON")) is None
    assert (
        evaluate(
            "ecs-fargate-platform-outdated", service(platform_version="1.0.0", os_family="WINDOWS_SERVER_2022_CORE")
        )
        is None
    )
    assert evaluate("ecs-fargate-platform-outdated", service(launch_type="EC2", platform_version=None)) is None
    assert evaluate("ecs-public-ip", service(assign_public_ip=None)) is None
    assert evaluate("ecs-over-provisioned", service({"cpu": 3})) is None  # memory unknown
