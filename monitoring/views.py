"""Dashboard pages. Until collectors land they render each page's empty state, which
tells the user what the page will show and the next step to get data into it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/overview.html", {"nav": "overview"})


@login_required
def resources(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/resources.html", {"nav": "resources"})


@login_required
def errors(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/errors.html", {"nav": "errors"})


@login_required
def logs(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/logs.html", {"nav": "logs"})
