"""What each role may do: the one place that says so (no Django here)."""

from __future__ import annotations

from enum import StrEnum

ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}


class Action(StrEnum):
    VIEW = "view"  # read dashboards, logs, errors, insights
    TRIAGE = "triage"  # resolve / ignore errors, snooze incidents
    MANAGE = "manage"  # AWS accounts, channels, rules, tokens, members
    OWN = "own"  # the organisation itself: rename, delete, transfer ownership


MINIMUM_ROLE = {
    Action.VIEW: "viewer",
    Action.TRIAGE: "member",
    Action.MANAGE: "admin",
    Action.OWN: "owner",
}

ROLE_DESCRIPTIONS = {
    "owner": "Everything an admin can do, plus the organisation itself: its name, time zone, deletion and ownership.",
    "admin": "Manages AWS accounts, members and invitations, notification channels, alert rules and API tokens.",
    "member": "Reads everything and triages: resolves or ignores errors and snoozes incidents.",
    "viewer": "Reads dashboards, logs, errors, insights and incidents; changes nothing.",
}


def role_allows(role: str, action: Action) -> bool:
    return ROLE_RANK[role] >= ROLE_RANK[MINIMUM_ROLE[action]]
