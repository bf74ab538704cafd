"""The AWS accounts part of the admin console: onboarding wizard, health, and management."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

import kinds
from kinds import REQUIRED_ACTIONS
from web import panels, params

from .audit import audit_record
from .context import current_organization
from .forms import (
    AwsAccountRoleForm,
    AwsAccountStartForm,
    CloudWatchBudgetForm,
    MetricIntervalsForm,
    ResourceFiltersForm,
)
from .models import AwsAccount
from .onboarding import cloudformation_template, platform_principal, quick_create_url
from .permissions import can, require
from .roles import Action
from .selectors import aws_accounts_of, get_aws_account_for_user
from .services import (
    aws_account_budget_set,
    aws_account_configure,
    aws_account_filters_update,
    aws_account_pause,
    aws_account_remove,
    aws_account_start,
    aws_account_validate,
)

# The panel slots of the AWS account page: higher apps register panels for them (see
# web/panels.py) in the facts list and the collection health section.
AWS_ACCOUNT_FACTS = "accounts.aws_account.facts"
AWS_ACCOUNT_HEALTH = "accounts.aws_account.health"
# Whole sections of the page (monitoring: log ingestion, the monitoring's own cost).
AWS_ACCOUNT_SECTIONS = "accounts.aws_account.sections"


def _account(request: HttpRequest, pk: int) -> AwsAccount:
    return get_aws_account_for_user(request.user, current_organization(request), pk)


@login_required
def aws_accounts(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    form = AwsAccountStartForm()
    if request.method == "POST":
        require(request, Action.MANAGE)
        form = AwsAccountStartForm(request.POST)
        if form.is_valid():
            account = aws_account_start(organization=organization, name=form.cleaned_data["name"])
            audit_record(organization=organization, action="aws_account.created", obj=account, request=request)
            return redirect("accounts:aws_account_setup", pk=account.pk)
    accounts = aws_accounts_of(organization)
    return render(
        request,
        "accounts/aws_accounts.html",
        {"accounts": accounts, "form": form, "can_manage": can(request, Action.MANAGE), "nav": "settings"},
    )


@login_required
def aws_account_setup(request: HttpRequest, pk: int) -> HttpResponse:
    """The wizard: 1. deploy the template, 2. role ARN and regions, 3. validate."""
    account = _account(request, pk)
    require(request, Action.MANAGE)
    principal = platform_principal()
    form = AwsAccountRoleForm()
    form.initial_from(account)
    report = None
    if request.method == "POST":
        form = AwsAccountRoleForm(request.POST)
        if form.is_valid():
            try:
                aws_account_configure(
                    account=account,
                    role_arn=form.cleaned_data["role_arn"],
                    regions=form.cleaned_data["regions"],
                    name=form.cleaned_data["name"],
                    all_regions=form.all_regions,
                )
            except ValueError as exc:
                form.add_error("role_arn", str(exc))
            else:
                report = aws_account_validate(account=account)
                audit_record(
                    organization=account.organization,
                    action="aws_account.configured",
                    obj=account,
                    request=request,
                    changes={
                        "role_arn": account.role_arn,
                        "regions": "all" if account.all_regions else account.regions,
                        "status": account.status,
                    },
                )
                if report.ok:
                    messages.success(request, f"{account.name} is connected. Discovery has started.")
                    return redirect("accounts:aws_account_detail", pk=account.pk)
    return render(
        request,
        "accounts/aws_account_setup.html",
        {
            "account": account,
            "form": form,
            "report": report,
            "principal": principal,
            "quick_create_url": quick_create_url(external_id=account.external_id, principal=principal),
            "actions": REQUIRED_ACTIONS,
            "nav": "settings",
        },
    )


@login_required
def aws_account_template(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    require(request, Action.MANAGE)
    body = cloudformation_template(principal=platform_principal(), external_id=account.external_id)
    response = HttpResponse(body, content_type="application/x-yaml")
    response["Content-Disposition"] = 'attachment; filename="dashbird-readonly-role.yaml"'
    return response


def _intervals_form(account: AwsAccount, data: Any = None) -> MetricIntervalsForm:
    from django.conf import settings

    return MetricIntervalsForm(
        data,
        kinds=kinds.choices(),
        defaults=settings.METRICS_POLL_SECONDS,
        initial=account.metric_intervals,
    )


@login_required
@require_POST
def aws_account_intervals(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    require(request, Action.MANAGE)
    form = _intervals_form(account, request.POST)
    if form.is_valid():
        audit_record(
            organization=account.organization,
            action="aws_account.intervals_changed",
            obj=account,
            request=request,
            changes={"metric_intervals": [account.metric_intervals, form.intervals()]},
        )
        account.metric_intervals = form.intervals()
        account.save(update_fields=["metric_intervals"])
        messages.success(request, "Metric poll intervals saved.")
    else:
        messages.error(request, "Intervals must be whole seconds from 60 to 86400.")
    return redirect("accounts:aws_account_detail", pk=account.pk)


def _stored_time(value: Any) -> datetime | str:
    """An ISO time kept in JSON, as a datetime that pages show in the reader's zone (the
    text as it is if it does not parse)."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@login_required
def aws_account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _account(request, pk))


@login_required
@require_POST
def aws_account_filters(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the include/exclude filters; a bad one shows the page again with its error."""
    account = _account(request, pk)
    require(request, Action.MANAGE)
    form = ResourceFiltersForm(request.POST)
    if not form.is_valid():
        return _detail(request, account, filters_form=form, status=400)
    before = {"include": account.include_filters, "exclude": account.exclude_filters}
    account = aws_account_filters_update(
        account=account, include=form.cleaned_data["include"], exclude=form.cleaned_data["exclude"]
    )
    audit_record(
        organization=account.organization,
        action="aws_account.filters_changed",
        obj=account,
        request=request,
        changes={"before": before, "after": {"include": account.include_filters, "exclude": account.exclude_filters}},
    )
    messages.success(request, "Filters saved. They apply at the next discovery of each region, starting now.")
    return redirect("accounts:aws_account_detail", pk=account.pk)


@login_required
@require_POST
def aws_account_budget(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the CloudWatch API budget (empty removes it); a bad value shows the page again
    with its error."""
    account = _account(request, pk)
    require(request, Action.MANAGE)
    form = CloudWatchBudgetForm(request.POST)
    if not form.is_valid():
        return _detail(request, account, budget_form=form, status=400)
    before = account.cloudwatch_budget_usd
    account = aws_account_budget_set(account=account, budget_usd=form.cleaned_data["budget_usd"])
    after = account.cloudwatch_budget_usd
    if before != after:
        audit_record(
            organization=account.organization,
            action="aws_account.budget_changed",
            obj=account,
            request=request,
            changes={"cloudwatch_budget_usd": [str(before) if before else None, str(after) if after else None]},
        )
    if after is None:
        messages.success(request, "Budget removed: every resource is polled at its kind's interval again.")
    else:
        messages.success(request, f"Budget saved: ${after} a month. The cost section shows what it changes.")
    return redirect(reverse("accounts:aws_account_detail", args=[account.pk]) + "#own-cost")


def _detail(
    request: HttpRequest,
    account: AwsAccount,
    *,
    filters_form: ResourceFiltersForm | None = None,
    budget_form: CloudWatchBudgetForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if filters_form is None:
        filters_form = ResourceFiltersForm()
        filters_form.initial_from(account)
    if budget_form is None:
        budget_form = CloudWatchBudgetForm()
        budget_form.initial_from(account)
    problems_by_region: dict[str, list[dict[str, str]]] = {}
    for problem in account.problems:
        problems_by_region.setdefault(problem.get("region") or "all regions", []).append(problem)
    collected = sorted(
        (key.split(":", 1)[0], key.split(":", 1)[1] if ":" in key else "", _stored_time(when))
        for key, when in account.last_collected.items()
    )
    return render(
        request,
        "accounts/aws_account_detail.html",
        {
            "account": account,
            "problems_by_region": problems_by_region,
            "collected": collected,
            "can_manage": can(request, Action.MANAGE),
            "intervals_form": _intervals_form(account),
            "filters_form": filters_form,
            "budget_form": budget_form,
            # What higher apps show on this page (monitoring: the resource count, and the
            # regions being collected right now).
            "panels": panels.render_slots(
                request, account, facts=AWS_ACCOUNT_FACTS, health=AWS_ACCOUNT_HEALTH, sections=AWS_ACCOUNT_SECTIONS
            ),
            "nav": "settings",
        },
        status=status,
    )


@login_required
@require_POST
def aws_account_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    account = _account(request, pk)
    require(request, Action.MANAGE)
    confirm = params.text(request.POST, "confirm", max_length=200)
    if action in {"validate", "pause", "resume"} or (action == "remove" and confirm == account.name):
        audit_record(organization=account.organization, action=f"aws_account.{action}", obj=account, request=request)
    if action == "validate":
        report = aws_account_validate(account=account)
        if report.ok:
            messages.success(request, "The role works in every region.")
        else:
            messages.error(request, "Validation failed: " + " ".join(report.messages))
    elif action == "pause":
        aws_account_pause(account=account, paused=True)
        messages.success(request, f"Collection from {account.name} is paused; its data stays.")
    elif action == "resume":
        aws_account_pause(account=account, paused=False)
        messages.success(request, f"Collection from {account.name} resumes.")
    elif action == "remove":
        if confirm != account.name:
            messages.error(request, f"Type the account name ({account.name}) to confirm its removal.")
            return redirect("accounts:aws_account_detail", pk=account.pk)
        name = account.name
        aws_account_remove(account=account)
        messages.success(request, f"{name} and all data collected from it were removed.")
        return redirect("accounts:aws_accounts")
    else:
        return HttpResponse(status=404)
    return redirect(reverse("accounts:aws_account_detail", args=[account.pk]))
