"""Take the README's screenshots from a running demo, so they show today's product.

    make demo                                  # in one terminal; wait until data shows
    .venv/bin/python -m devtools.screenshots   # in another: writes docs/screenshots/*.png

Signs in as the demo user (`var/demo-credentials`), then captures the overview, the function
with the most invocations, one of its executions, a non-Lambda resource (a queue when there
is one), the service map and the overview on a phone, with Debian's Chromium through Playwright.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from kinds import apigateway, dynamodb_table, sns_topic, sqs_queue

BASE_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
DEMO_EMAIL = "demo@example.com"


def sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def shoot(page: Any, path: Path, *, full_page: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=full_page)
    print(f"wrote {path.relative_to(BASE_DIR) if path.is_relative_to(BASE_DIR) else path}")


def capture(base: str, out: Path, password: str, period: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        desktop = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
        page = desktop.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, base, DEMO_EMAIL, password)
        page.goto(f"{base}/?period={period}")  # again, without the "signed in" message
        page.wait_for_selector("[data-figure] .main-svg")
        shoot(page, out / "overview.png")

        page.click(".tops a >> nth=0")  # the busiest function of the period
        page.goto(page.url.split("?")[0] + f"?period={period}")
        page.wait_for_selector("#invocations table")
        page.wait_for_selector("[data-figure] .main-svg")
        shoot(page, out / "function.png")

        traced = page.locator("#invocations tr:has(.badge:text-is('trace')) a")  # one with its calls
        (traced.first if traced.count() else page.locator("#invocations table a").first).click()
        page.wait_for_selector(".loglines li")
        shoot(page, out / "execution.png")

        for kind in (sqs_queue.KIND, apigateway.REST_API, dynamodb_table.KIND, sns_topic.KIND):
            page.goto(f"{base}/resources/?kind={kind}")
            link = page.locator("table.table tbody a").first
            if link.count():
                link.click()
                page.wait_for_selector("h2:has-text('Configuration')")
                shoot(page, out / "resource.png")
                break

        page.goto(f"{base}/service-map/?period={period}")
        page.wait_for_selector("[data-figure] .main-svg")
        shoot(page, out / "service-map.png")
        desktop.close()

        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
        page = phone.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, base, DEMO_EMAIL, password)
        page.goto(f"{base}/?period={period}")
        page.wait_for_selector("[data-figure] .main-svg")
        shoot(page, out / "overview-phone.png")
        phone.close()
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the demo runs")
    parser.add_argument("--out", type=Path, default=BASE_DIR / "docs" / "screenshots")
    parser.add_argument("--period", default="1h", choices=["1h", "24h", "7d", "30d"], help="period of the charts")
    parser.add_argument("--credentials", type=Path, default=BASE_DIR / "var" / "demo-credentials")
    args = parser.parse_args(argv)
    if not args.credentials.exists():
        print(f"no {args.credentials}: start the demo first (make demo)", file=sys.stderr)
        return 2
    capture(args.url.rstrip("/"), args.out, args.credentials.read_text().strip(), args.period)
    return 0


if __name__ == "__main__":
    sys.exit(main())
