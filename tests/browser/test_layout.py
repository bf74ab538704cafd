"""The main pages on a desktop (1400 px) and a phone (390 px), in Chromium, on sandbox data:
no page scrolls sideways on the phone, no Python value shows in the text, the navigation folds
behind a Menu button, and axe-core finds no serious or critical accessibility violation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from conftest import screenshot
from insights.engine import insights_run
from monitoring.models import ErrorGroup, Invocation, Resource
from tests.browser.sandbox_world import sandbox_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REGION = "ap-southeast-2"
PHONE, DESKTOP = 390, 1400
# How Python prints values a page must never show: list/dict reprs and bare None/True/False.
PYTHON_REPR = re.compile(r"\[\{'|\{'[a-z_]+':|\['[^']*'[,\]]|(?<![\w-])(None|True|False)(?![\w-])")
SERIOUS = {"serious", "critical"}


@pytest.fixture
def world(sandbox: Any) -> dict[str, Any]:
    org, account = sandbox_world(sandbox, REGION, count=5, seed=53, traffic_seed=5, per_minute=200, minutes=20)
    insights_run(account)
    function = Resource.objects.filter(organization=org, kind="lambda.function").first()
    others = Resource.objects.filter(organization=org).exclude(kind="lambda.function")
    assert function is not None and others.exists()
    pages = {
        "overview": "/",
        "resources": "/resources/",
        "function": f"/resources/{function.pk}/",
        "invocation": f"/invocations/{Invocation.objects.filter(resource=function).first().pk}/",  # type: ignore[union-attr]
        "errors": "/errors/",
        "error-group": f"/errors/{ErrorGroup.objects.filter(organization=org).first().pk}/",  # type: ignore[union-attr]
        "logs": "/logs/?q=REPORT",
        "insights": "/insights/",
        "alerts": "/alerts/",
        "settings": "/settings/",
        "api-tokens": "/settings/tokens/",
        "aws-account": f"/settings/aws/{account.pk}/",
    }
    for other in others.order_by("kind").distinct("kind"):
        pages[f"resource-{other.kind}"] = f"/resources/{other.pk}/"
    return pages


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "ops@acme.test")
    page.fill("input[name=password]", "S3cret-pass!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def serious_violations(page: Any) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


def test_main_pages_fit_a_phone_show_no_python_values_and_pass_axe(
    live_server: Any, browser: Any, world: dict[str, str]
) -> None:
    base = live_server.url
    problems: list[str] = []
    for width in (DESKTOP, PHONE):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, base)
        for name, path in world.items():
            response = page.goto(f"{base}{path}")
            assert response is not None and response.status == 200, (name, path, response and response.status)
            page.wait_for_load_state("networkidle")
            text = page.inner_text("body")
            if match := PYTHON_REPR.search(text):
                problems.append(
                    f"{width}px {name}: Python value {match.group(0)!r} near {text[max(0, match.start() - 60) : match.end() + 60]!r}"
                )
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if width == PHONE and overflow > 0:
                problems.append(f"{width}px {name}: the page scrolls sideways by {overflow} px")
            for violation in serious_violations(page):
                problems.append(f"{width}px {name}: axe {violation}")
            if width == PHONE and name in {"overview", "function", "resource-sqs.queue"}:
                screenshot(page, f"phone-{name}")
        context.close()
    assert not problems, "\n".join(problems)


def test_the_navigation_folds_behind_a_menu_button_on_a_phone(
    live_server: Any, browser: Any, world: dict[str, str]
) -> None:
    context = browser.new_context(viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    sign_in(page, live_server.url)
    nav = page.locator("#sidenav")
    toggle = page.locator(".menu-toggle")
    assert toggle.is_visible() and not nav.is_visible()
    toggle.click()
    assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    nav.get_by_role("link", name="Resources").click()
    page.wait_for_url(f"{live_server.url}/resources/")
    context.close()

    desktop = browser.new_context(viewport={"width": DESKTOP, "height": 800})
    page = desktop.new_page()
    sign_in(page, live_server.url)
    assert page.locator("#sidenav").is_visible() and not page.locator(".menu-toggle").is_visible()
    desktop.close()
