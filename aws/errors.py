"""Turn AWS errors into messages a person can act on (shown on the account's health page)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
    "Forbidden",
    "403",
}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
}
# What AWS answers when a region is not enabled for the account (opt-in regions).
REGION_DISABLED = {"UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "OptInRequired"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}


@dataclass(frozen=True)
class Problem:
    kind: str  # permission | throttled | region_disabled | expired | unreachable | error
    message: str
    service: str = ""
    operation: str = ""
    region: str = ""
    code: str = ""
    resource: str = ""  # the resource it concerns, when it concerns one

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def explain(exc: BaseException, *, service: str, operation: str, region: str, action: str = "") -> Problem:
    """A Problem for any exception raised by a botocore call."""
    where = dict(service=service, operation=operation, region=region)
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in ACCESS_DENIED:
            return Problem(
                "permission",
                f"Permission missing: the role may not call {action or operation} in {region}. "
                f"Update the role from the latest CloudFormation template.",
                code=code,
                **where,
            )
        if code in THROTTLED:
            return Problem(
                "throttled",
                f"AWS throttled {operation} in {region} after retries; the next run continues from here.",
                code=code,
                **where,
            )
        if code in REGION_DISABLED:
            return Problem(
                "region_disabled",
                f"Region {region} is not enabled for this AWS account (or rejects its credentials). "
                f"Enable it in the AWS console or remove it from the account's regions.",
                code=code,
                **where,
            )
        if code in EXPIRED:
            return Problem(
                "expired", "The temporary credentials expired; they are renewed on the next run.", code=code, **where
            )
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        return Problem("error", f"{operation} failed in {region}: {code}: {message}", code=code, **where)
    if isinstance(exc, EndpointConnectionError | ReadTimeoutError):
        return Problem("unreachable", f"Could not reach the {service} endpoint in {region}: {exc}", **where)
    if isinstance(exc, NoCredentialsError):
        return Problem(
            "error",
            "The platform has no AWS credentials of its own (instance role, AWS_PROFILE or AWS_ACCESS_KEY_ID).",
            **where,
        )
    if isinstance(exc, BotoCoreError):
        return Problem("error", f"{operation} failed in {region}: {exc}", **where)
    return Problem("error", f"{operation} failed in {region}: {type(exc).__name__}: {exc}", **where)


def assume_role_refused(*, role_arn: str, external_id: str, principal: str) -> str:
    """AWS answers the same AccessDenied to AssumeRole whether the role is missing, its trust
    policy names another principal, or the ExternalId differs: name all three, with the
    exact values to compare."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "?"
    return (
        f"AWS refused to let us assume {role_arn}. Either the role does not exist in account {account} "
        f"(deleted, or the stack was removed), its trust policy does not trust {principal}, or its "
        f"sts:ExternalId condition is not {external_id}. Re-deploy the template with these values, "
        "then re-validate the account."
    )
