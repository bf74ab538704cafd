"""What changed between two configurations (pure)."""

from __future__ import annotations

from typing import Any


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists stay whole (their order is meaningful)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """{"path": [old, new]} for every leaf that differs; empty when nothing did."""
    before, after = flatten(old), flatten(new)
    return {
        path: [before.get(path), after.get(path)]
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    }
