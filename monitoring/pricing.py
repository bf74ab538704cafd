"""Lambda prices, in one place (pure).

Source: https://aws.amazon.com/lambda/pricing/ (consulted 2026-11): on-demand duration
$0.0000166667 per GB-second on x86_64 and $0.0000133334 on arm64, requests $0.20 per
million, in US East (N. Virginia) and the many regions that share its price. Regions
priced differently go in REGION_PRICES. Not modelled: the monthly free tier and the volume
tiers above 6 billion GB-seconds a month (both only lower the bill), provisioned
concurrency and ephemeral storage above 512 MB.

Billing rules (REPORT lines): `Billed Duration` already includes the init phase where AWS
bills it (on-demand managed runtimes since 1 August 2025) and is 1 ms granular since
December 2020; SnapStart restores are billed as `Billed Restore Duration`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    gb_second: float
    per_request: float


DEFAULT_PRICES = {
    "x86_64": Price(gb_second=0.0000166667, per_request=0.0000002),
    "arm64": Price(gb_second=0.0000133334, per_request=0.0000002),
}
# (region, architecture) -> Price, where a region differs from the default.
REGION_PRICES: dict[tuple[str, str], Price] = {}


def price_for(region: str, architecture: str) -> Price:
    arch = architecture if architecture in DEFAULT_PRICES else "x86_64"
    return REGION_PRICES.get((region, arch), DEFAULT_PRICES[arch])


def gb_seconds(billed_ms: float | None, memory_mb: int | None, billed_restore_ms: float | None = None) -> float:
    if not billed_ms and not billed_restore_ms:
        return 0.0
    return ((billed_ms or 0) + (billed_restore_ms or 0)) / 1000 * (memory_mb or 0) / 1024


def invocation_cost(
    *,
    billed_ms: float | None,
    memory_mb: int | None,
    region: str,
    architecture: str,
    billed_restore_ms: float | None = None,
) -> float:
    """Duration charge plus the request charge, in USD."""
    price = price_for(region, architecture)
    return gb_seconds(billed_ms, memory_mb, billed_restore_ms) * price.gb_second + price.per_request
