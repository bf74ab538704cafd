"""Small pure helpers the service modules share: metric look-up, rates, numbers in sentences, policies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from insights.checks.base import CheckInput, Result


def metric(inp: CheckInput, key: str) -> float | None:
    """A metric aggregated over the window, or None when CloudWatch had no datapoint."""
    value = inp.metrics.get(key)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def number(value: Any) -> float | None:
    """A config value as a number, or None when absent or not numeric (bools are not numbers here)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


def percent(part: float, whole: float) -> float:
    """part / whole in percent, rounded to 2 decimals (0 when whole is 0)."""
    if not whole:
        return 0.0
    return round(100.0 * part / whole, 2)


def fmt(value: float | int | None) -> str:
    """A number for a sentence: 25, 12.5, 1,200, 0.35."""
    if value is None:
        return "n/a"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def seconds(ms: float) -> str:
    """Milliseconds as a readable duration: 850 ms, 12.3 s."""
    if ms < 1000:
        return f"{fmt(round(ms))} ms"
    return f"{fmt(round(ms / 1000, 2))} s"


def days(inp: CheckInput) -> str:
    return f"{inp.window_days} day" + ("" if inp.window_days == 1 else "s")


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# --- resource policies ---------------------------------------------------------------------------


def _principal_is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        aws = principal.get("AWS")
        if aws == "*":
            return True
        if isinstance(aws, list) and "*" in aws:
            return True
    return False


def public_statements(policy: Any) -> list[str]:
    """Statements that let anyone in: Effect Allow, Principal "*" or {"AWS": "*"}, and no Condition.

    A Condition (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, SourceOwner…) is taken as restricting:
    SNS's default topic policy is Principal {"AWS": "*"} limited by AWS:SourceOwner, and it is not public.
    Returns each statement's Sid, or its position when it has none.
    """
    if not isinstance(policy, Mapping):
        return []
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    found = []
    for index, statement in enumerate(statements if isinstance(statements, list) else []):
        if not isinstance(statement, Mapping):
            continue
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if _principal_is_everyone(statement.get("Principal")):
            found.append(str(statement.get("Sid") or f"#{index}"))
    return found


def public_policy_result(inp: CheckInput, what: str) -> Result | None:
    """Shared evaluate body of the "public policy" checks (None when the config carries no policy field)."""
    if "policy" not in inp.config:
        return None
    policy = inp.config.get("policy")
    if policy is None:
        return Result(True, {}, f"The {what} has no resource policy.")
    statements = public_statements(policy)
    if not statements:
        return Result(True, {}, f"No statement of the {what}'s resource policy allows everyone.")
    return Result(
        False,
        {"statements": statements},
        f"The {what}'s resource policy allows any principal without a condition ({', '.join(statements)}).",
    )


def count(inp: CheckInput, key: str) -> float | None:
    """An event-count metric (a Sum) over the window.

    CloudWatch leaves gaps rather than zeros for many event counts (Throttles, SystemErrors, ThrottleEvents,
    FailedInvocations…): an absent key reads as 0 when other metrics of the resource were collected, and as
    unknown (None) when none were.
    """
    value = metric(inp, key)
    if value is None:
        return 0.0 if inp.metrics else None
    return value


def parse_date(text: Any) -> date | None:
    """The date part of an ISO date or timestamp ("2025-12-15", "2024-01-01T12:00:00.000+0000"), or None."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
