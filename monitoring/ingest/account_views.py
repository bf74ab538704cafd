"""The account page's push ingestion controls (a panel, see monitoring/panels.py): choose
polling or push, rotate the access key, download the stack, check existing subscription
filters (docs/push.md)."""

from __future__ import annotations

from dataclasses import asdict
from types import SimpleNamespace

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models.fields.json import KT
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.audit import audit_record
from accounts.context import current_organization
from accounts.models import AwsAccount, LogIngestion
from accounts.permissions import require
from accounts.roles import Action
from accounts.selectors import get_aws_account_for_user
from accounts.services import aws_account_ingestion_set, aws_account_push_key_rotate
from aws import clients
from kinds import lambda_function
from monitoring.collection import logs as logs_fetch
from monitoring.models import Resource

from .stack import GroupFilters, push_stack_template, subscription_filters

CHECK_TTL = 24 * 3600


def _managed_account(request: HttpRequest, pk: int) -> AwsAccount:
    account = get_aws_account_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    return account


def endpoint_url(account: AwsAccount) -> str:
    return settings.SITE_URL + reverse("monitoring:ingest_firehose", args=[account.push_token])


def log_groups(account: AwsAccount, region: str) -> list[str]:
    functions = Resource.objects.filter(account=account, region=region, kind=lambda_function.KIND, gone_at=None)
    # Rows, not model instances, and of the configuration only its log group (ten thousand
    # functions): what log_group_of reads of each.
    rows = functions.annotate(log_group=KT("config__log_group")).values_list("name", "log_group")
    return sorted(
        {logs_fetch.log_group_of(SimpleNamespace(name=name, config={"log_group": group})) for name, group in rows}
    )


def _check_key(account_id: int, region: str) -> str:
    return f"push:subscriptions:{account_id}:{region}"


def subscription_check(account: AwsAccount, region: str) -> list[GroupFilters] | None:
    found = cache.get(_check_key(account.pk, region))
    return None if found is None else [GroupFilters(**g) for g in found]


def _region(request: HttpRequest, account: AwsAccount) -> str:
    region = request.POST.get("region") or request.GET.get("region") or ""
    if region not in account.regions:
        raise Http404("not a region of this account")
    return region


@login_required
@require_POST
def ingestion(request: HttpRequest, pk: int) -> HttpResponse:
    account = _managed_account(request, pk)
    action = request.POST.get("action", "")
    if action == "rotate":
        aws_account_push_key_rotate(account=account)
        audit_record(
            organization=account.organization, action="aws_account.push_key_rotated", obj=account, request=request
        )
        messages.success(request, "New access key. Update the stack's AccessKey parameter: the old key is refused now.")
    elif action in LogIngestion.values:
        before = account.log_ingestion
        aws_account_ingestion_set(account=account, mode=action)
        audit_record(
            organization=account.organization,
            action="aws_account.log_ingestion_changed",
            obj=account,
            request=request,
            changes={"before": before, "after": action},
        )
        messages.success(
            request,
            "Logs are pushed now: polling only fills gaps."
            if action == LogIngestion.PUSH
            else "Logs are polled now. A stack still pushing is accepted, idempotently.",
        )
    else:
        return HttpResponseBadRequest("Unknown action: choose poll, push or rotate.")
    return redirect(reverse("accounts:aws_account_detail", args=[account.pk]) + "#ingestion")


@login_required
def stack_template(request: HttpRequest, pk: int) -> HttpResponse:
    account = _managed_account(request, pk)
    region = _region(request, account)
    if not account.push_access_key:
        raise Http404("push is not set up for this account")
    groups = log_groups(account, region)
    chosen = request.GET.getlist("log_group")
    if chosen:
        groups = [g for g in groups if g in set(chosen)]
    # Log groups the last check found full would make the stack fail: left out.
    full = {g.log_group for g in subscription_check(account, region) or [] if g.full}
    body = push_stack_template(
        endpoint_url=endpoint_url(account),
        access_key=account.push_access_key,
        log_groups=[g for g in groups if g not in full],
    )
    response = HttpResponse(body, content_type="application/x-yaml")
    response["Content-Disposition"] = f'attachment; filename="dashbird-push-{region}.yaml"'
    return response


@login_required
@require_POST
def check_subscriptions(request: HttpRequest, pk: int) -> HttpResponse:
    account = _managed_account(request, pk)
    region = _region(request, account)
    if not account.role_arn:
        messages.error(request, "Connect the account's role first: the check reads the log groups through it.")
        return redirect(reverse("accounts:aws_account_detail", args=[account.pk]) + "#ingestion")
    try:
        logs = clients.customer_client(account, region, "logs")
    except (ClientError, BotoCoreError) as exc:
        messages.error(request, f"Could not assume the account's role: {exc}"[:400])
        return redirect(reverse("accounts:aws_account_detail", args=[account.pk]) + "#ingestion")
    found = subscription_filters(logs, log_groups(account, region), region=region)
    cache.set(_check_key(account.pk, region), [asdict(g) for g in found], CHECK_TTL)
    full = sum(g.full for g in found)
    messages.info(
        request,
        f"{region}: {len(found)} log group(s) checked, {full} already have two subscription filters "
        "(ours cannot be added there; the stack leaves them out).",
    )
    return redirect(reverse("accounts:aws_account_detail", args=[account.pk]) + "#ingestion")
