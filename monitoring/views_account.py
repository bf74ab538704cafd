"""Monitoring's part of accounts' AWS account page: the metric poll intervals it owns (the
panel is registered in `monitoring/panels.py`; this is where its form posts)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.admin_services import audit_record
from accounts.permissions import require
from accounts.roles import Action
from accounts.selectors import get_aws_account_for_user
from accounts.services import aws_account_metric_intervals_set

from .panels import intervals_form


@login_required
@require_POST
def aws_account_intervals(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_aws_account_for_user(request.user, request.organization, pk)  # type: ignore[attr-defined]
    require(request, Action.MANAGE)
    form = intervals_form(account, request.POST)
    if form.is_valid():
        audit_record(
            organization=account.organization,
            action="aws_account.intervals_changed",
            obj=account,
            request=request,
            changes={"metric_intervals": [account.metric_intervals, form.intervals()]},
        )
        aws_account_metric_intervals_set(account=account, intervals=form.intervals())
        messages.success(request, "Metric poll intervals saved.")
    else:
        messages.error(request, "Intervals must be whole seconds from 60 to 86400.")
    return redirect("aws_account_detail", pk=account.pk)
