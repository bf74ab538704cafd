"""The regions an account has enabled, for accounts collected in "all regions" (pure: no Django).

`account:ListRegions` says it exactly (opt-in regions the customer enabled, and those enabled
by default). Where it is not answered (a role made from an older template, an emulator
without the Account API, an organisation's SCP), `ec2:DescribeRegions` without
`AllRegions` lists the regions enabled for the account too. Both are global reads made once
per discovery interval, not per region.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import botocore.exceptions
import botocore.session
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from aws.errors import Problem, explain

ENABLED = ["ENABLED", "ENABLED_BY_DEFAULT"]
# Where the global reads are made: the one region every commercial account has enabled.
HOME_REGION = "us-east-1"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class RegionsUnavailable(Exception):
    """Neither API answered; `problem` says why (the second one's error, naming both)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def enabled_regions(client_for: Callable[[str], BaseClient]) -> tuple[list[str], str]:
    """(the enabled regions sorted, the IAM action that answered)."""
    try:
        regions: set[str] = set()
        paginator = client_for("account").get_paginator("list_regions")
        for page in paginator.paginate(RegionOptStatusContains=ENABLED):
            regions.update(
                r["RegionName"] for r in page.get("Regions", []) if r.get("RegionOptStatus") in (None, *ENABLED)
            )
        return _valid(regions), "account:ListRegions"
    except (ClientError, BotoCoreError):
        pass
    try:
        answer = client_for("ec2").describe_regions()
    except (ClientError, BotoCoreError) as exc:
        problem = explain(
            exc, service="ec2", operation="DescribeRegions", region=HOME_REGION, action="ec2:DescribeRegions"
        )
        raise RegionsUnavailable(
            Problem(
                problem.kind,
                "Could not list the account's enabled regions (account:ListRegions, then ec2:DescribeRegions): "
                f"{problem.message} The regions found last are still collected.",
                "ec2",
                "DescribeRegions",
                "",
                problem.code,
            )
        ) from exc
    regions = {
        r["RegionName"]
        for r in answer.get("Regions", [])
        if r.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in")
    }
    return _valid(regions), "ec2:DescribeRegions"


def _valid(regions: set[str]) -> list[str]:
    """Region names of the home region's partition: a commercial account's role cannot be used
    in GovCloud or China (other partitions, other accounts), whatever a listing says."""
    session = botocore.session.get_session()
    home = session.get_partition_for_region(HOME_REGION)

    def same_partition(region: str) -> bool:
        try:
            return bool(session.get_partition_for_region(region) == home)
        except (ValueError, botocore.exceptions.BotoCoreError):
            return True  # newer than this botocore: collect it, and say so if it fails

    return sorted(r for r in regions if isinstance(r, str) and _REGION.match(r) and same_partition(r))
