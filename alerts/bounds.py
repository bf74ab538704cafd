"""The bounds every numeric field of an alert rule must keep (pure: no Django).

The rule form shows these as field errors; evaluation checks them again, because a row can
hold anything (an older version, the admin, SQL): one rule with a window of 2^31 minutes
used to overflow the date arithmetic and stop every rule after it.
"""

from __future__ import annotations

import math
from typing import Any

MAX_SPAN_MINUTES = 7 * 24 * 60  # window × evaluation periods: raw data is read over this span
MAX_EVALUATION_PERIODS = 60
MAX_MIN_INTERVAL_MINUTES = 7 * 24 * 60
MAX_ABS_THRESHOLD = 1e15  # beyond any metric we compute; keeps every comparison finite
MAX_NOTIFICATIONS_PER_HOUR = 600


def _span(minutes: int) -> str:
    days, rest = divmod(minutes, 24 * 60)
    if days and not rest:
        return f"{days:,} days"
    if days:
        return f"about {minutes / (24 * 60):,.0f} days"
    return f"{minutes // 60:,} hours" if minutes % 60 == 0 else f"{minutes:,} minutes"


def _whole(value: Any) -> int | None:
    # bool is an int in Python, but True minutes is a mistake, not a value.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def rule_problems(
    *,
    condition: str,
    window_minutes: Any,
    evaluation_periods: Any,
    breaching_periods: Any,
    threshold: Any,
    min_interval_minutes: Any,
    threshold_upper: Any = None,
    max_notifications_per_hour: Any = 10,
) -> dict[str, str]:
    """{field name: what is wrong} for each numeric field out of bounds; empty when the rule
    can be evaluated. The threshold matters only to threshold rules."""
    problems: dict[str, str] = {}
    window, periods, breaching = _whole(window_minutes), _whole(evaluation_periods), _whole(breaching_periods)
    if window is None or window < 1:
        problems["window_minutes"] = "The window must be a whole number of minutes, at least 1."
    if periods is None or not 1 <= periods <= MAX_EVALUATION_PERIODS:
        problems["evaluation_periods"] = f"Evaluation periods (N) must be from 1 to {MAX_EVALUATION_PERIODS}."
    span = window * periods if window and periods and "evaluation_periods" not in problems else 0
    if span > MAX_SPAN_MINUTES and "window_minutes" not in problems:
        problems["window_minutes"] = (
            f"The window × evaluation periods is {_span(span)}; at most {_span(MAX_SPAN_MINUTES)} of data is evaluated."
        )
    if breaching is None or breaching < 1:
        problems["breaching_periods"] = "Breaching periods (M) must be at least 1."
    elif periods is not None and breaching > periods:
        problems["breaching_periods"] = "Breaching periods (M) cannot exceed evaluation periods (N)."
    interval = _whole(min_interval_minutes)
    if interval is None or not 0 <= interval <= MAX_MIN_INTERVAL_MINUTES:
        problems["min_interval_minutes"] = (
            f"The minimum interval must be from 0 to {MAX_MIN_INTERVAL_MINUTES:,} minutes (7 days)."
        )
    per_hour = _whole(max_notifications_per_hour)
    if per_hour is None or not 1 <= per_hour <= MAX_NOTIFICATIONS_PER_HOUR:
        problems["max_notifications_per_hour"] = f"From 1 to {MAX_NOTIFICATIONS_PER_HOUR} notifications an hour."
    if condition == "threshold":
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            problems["threshold"] = "A threshold rule needs a threshold."
        elif not math.isfinite(threshold) or abs(threshold) > MAX_ABS_THRESHOLD:
            problems["threshold"] = f"The threshold must be a finite number within ±{MAX_ABS_THRESHOLD:g}."
        if threshold_upper is not None and (
            isinstance(threshold_upper, bool)
            or not isinstance(threshold_upper, int | float)
            or not math.isfinite(threshold_upper)
            or abs(threshold_upper) > MAX_ABS_THRESHOLD
        ):
            problems["threshold_upper"] = f"The upper threshold must be a finite number within ±{MAX_ABS_THRESHOLD:g}."
    return problems


def describe_problems(problems: dict[str, str]) -> str:
    """One line for the rules page and the worker log."""
    return "Out of bounds: " + " ".join(problems.values()) + " Edit the rule to fix it."
