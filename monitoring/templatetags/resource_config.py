"""A resource's configuration rendered for people, never as Python values.

Discovery stores each kind's configuration as plain JSON (`Resource.config`): numbers with
their unit in the key (`timeout_s`, `memory_mb`), booleans, nulls, lists of names and lists
of objects (stages, event source mappings, subscriptions). This turns it into labelled
fields with units, yes/no badges, lists, small tables, and ARNs with a copy button that link
to the resource's own page when it is one we monitor. Everything is escaped (format_html).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from monitoring.selectors import resource_pages_by_arn

register = template.Library()

# Unit suffixes of configuration keys → the unit shown after the value.
UNITS = {"mb": "MB", "kb": "KB", "s": "s", "ms": "ms", "days": "days", "bytes": "bytes"}
# Words shown in their usual spelling.
WORDS = {
    "arn": "ARN", "url": "URL", "id": "ID", "api": "API", "kms": "KMS", "dlq": "DLQ",
    "vpc": "VPC", "sha256": "SHA-256", "sqs": "SQS", "sns": "SNS", "fifo": "FIFO", "env": "environment",
    "var": "variable", "ttl": "TTL", "iam": "IAM", "acl": "ACL", "pitr": "PITR", "http": "HTTP",
    "xray": "X-Ray", "ids": "IDs", "arns": "ARNs", "tls": "TLS", "sse": "SSE", "dns": "DNS", "ssl": "SSL",
    "ip": "IP", "ips": "IPs", "az": "AZ", "azs": "AZs", "cpu": "CPU", "ecs": "ECS", "tcp": "TCP", "udp": "UDP",
    "waf": "WAF", "s3": "S3", "https": "HTTPS", "lb": "LB", "elb": "ELB", "os": "OS",
}  # fmt: skip
# Keys whose numbers are identifiers, never quantities: shown without thousands separators.
IDENTIFIER_WORDS = ("port", "ports", "year", "version")
IDENTIFIER = "#"
MAX_ITEMS = 200  # a list this long is cut, with the count of the rest said


def _split(key: str) -> tuple[list[str], str | None]:
    words = [w for w in str(key).rsplit(".", 1)[-1].split("_") if w]
    if len(words) > 1 and words[-1].lower() in UNITS:
        return words[:-1], UNITS[words[-1].lower()]
    if words and words[-1].lower() in IDENTIFIER_WORDS:
        return words, IDENTIFIER
    return words, None


def _words(part: str) -> str:
    words = [w for w in part.split("_") if w]
    if len(words) > 1 and words[-1].lower() in UNITS:
        words = words[:-1]
    shown = [WORDS.get(w.lower(), w.lower() if w.islower() else w) for w in words] or [part]
    first = shown[0]
    return " ".join([first[:1].upper() + first[1:], *shown[1:]])


@register.filter
def config_label(key: str) -> str:
    """`log_retention_days` → "Log retention", `code_sha256` → "Code SHA-256",
    a changed setting's path `vpc.subnet_ids` → "VPC › Subnet IDs"."""
    return " › ".join(_words(part) for part in str(key).split("."))


def _duration(seconds: float) -> str:
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {name}{'s' if n != 1 else ''}"
    return ""


def _number(value: float, unit: str | None) -> SafeString:
    if unit == IDENTIFIER:  # port 8080, not "8,080"
        return format_html("{}", value)
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.3f}".rstrip("0").rstrip(".")
    if unit is None:
        return format_html("{}", text)
    human = _duration(value) if unit == "s" and value >= 120 else ""
    if human:
        return format_html('{} {} <span class="muted">({})</span>', text, unit, human)
    return format_html("{} {}", text, unit)


def _arns(value: Any) -> Iterable[str]:
    if isinstance(value, str) and value.startswith("arn:"):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _arns(v)
    elif isinstance(value, list):
        for v in value:
            yield from _arns(v)


def _scalar(value: Any, unit: str | None, links: Mapping[str, str]) -> SafeString:
    if value is None or value == "":
        return format_html('<span class="none">{}</span>', "—")
    if isinstance(value, bool):
        return format_html('<span class="badge {}">{}</span>', "yes" if value else "no", "Yes" if value else "No")
    if isinstance(value, int | float):
        return _number(value, unit)
    text = str(value)
    if text == "None":  # AWS's own enum value for "off" (e.g. SnapStart ApplyOn), not a Python None
        return format_html('<span class="none">{}</span>', "none")
    if text.startswith("arn:"):
        link = links.get(text)
        shown = (
            format_html('<a href="{}"><code>{}</code></a>', link, text)
            if link
            else format_html("<code>{}</code>", text)
        )
        return format_html(
            '{}<button type="button" class="copy" data-copy="{}" aria-label="Copy">Copy</button>', shown, text
        )
    return format_html("{}", text)


def _value(value: Any, unit: str | None, links: Mapping[str, str], depth: int = 0) -> SafeString:
    if isinstance(value, Mapping):
        if not value:
            return format_html('<span class="none">{}</span>', "—")
        if depth >= 3:  # deeper than tables nest readably (a policy's conditions): compact JSON
            return format_html("<code>{}</code>", json.dumps(value, ensure_ascii=False, default=str))
        return format_html(
            '<dl class="facts">{}</dl>',
            format_html_join(
                "",
                "<dt>{}</dt><dd>{}</dd>",
                ((config_label(k), _value(v, _split(k)[1], links, depth + 1)) for k, v in value.items()),
            ),
        )
    if isinstance(value, list):
        if not value:
            return format_html('<span class="none">{}</span>', "none")
        shown, rest = value[:MAX_ITEMS], len(value) - MAX_ITEMS
        more = format_html(' <span class="muted">and {} more</span>', rest) if rest > 0 else ""
        if all(isinstance(v, Mapping) for v in shown) and depth < 3:
            columns: list[str] = []
            for row in shown:
                columns.extend(k for k in row if k not in columns)
            head = format_html_join("", '<th scope="col">{}</th>', ((config_label(c),) for c in columns))
            body = format_html_join(
                "",
                "<tr>{}</tr>",
                (
                    (
                        format_html_join(
                            "", "<td>{}</td>", ((_value(row.get(c), _split(c)[1], links, depth + 1),) for c in columns)
                        ),
                    )
                    for row in shown
                ),
            )
            return format_html(
                '<div class="table-scroll"><table class="cfg-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>{}',
                head,
                body,
                more,
            )
        items = format_html_join("", "<li>{}</li>", ((_value(v, unit, links, depth + 1),) for v in shown))
        return format_html('<ul class="cfg-list">{}</ul>{}', items, more)
    return _scalar(value, unit, links)


@register.simple_tag
def config_value(key: str, value: Any, links: Mapping[str, str] | None = None) -> SafeString:
    """One configuration value, rendered by its shape and the unit its key names."""
    return _value(value, _split(key)[1], links or {})


@register.simple_tag
def config_links(resource: Any) -> dict[str, str]:
    """ARN → page of the resources this configuration names that we monitor, in its organisation."""
    arns = set(_arns(getattr(resource, "config", None) or {}))
    if not arns:
        return {}
    links: dict[str, str] = {}
    for pk, arn in resource_pages_by_arn(organization_id=resource.organization_id, arns=arns):
        try:
            links[arn] = reverse("monitoring:resource_detail", args=[pk])
        except NoReverseMatch:  # pragma: no cover - the URL name is part of this app
            continue
    return links
