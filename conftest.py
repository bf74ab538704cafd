"""Shared fixtures: an owner, a teammate and an outsider in another organisation, so
that every view gets its permission test; Redis on its own test database; Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from accounts.models import Membership, Organization, Role
from accounts.services import organization_create, user_create_verified

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# inside one unless told that this is safe (it is: the test thread is not async code).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "Correct-horse-42"
TEST_FIELD_KEY = Fernet.generate_key().decode()
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"


@dataclass
class Tenant:
    user: Any
    organization: Organization
    membership: Membership

    def client(self) -> Client:
        client = Client()
        client.force_login(self.user)
        return client


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> None:
    """Tests render templates without a `collectstatic` manifest, and hash passwords fast."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # PBKDF2's deliberate slowness costs ~0.3 s per user created; tests need no such defence.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Secrets at rest need a key; the suite brings its own whatever the environment says.
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_KEY]


@pytest.fixture
def owner(db: Any) -> Tenant:
    user = user_create_verified(email="owner@acme.test", password=PASSWORD)
    org = organization_create(name="Acme", owner=user)
    return Tenant(user, org, Membership.objects.get(user=user, organization=org))


@pytest.fixture
def teammate(owner: Tenant) -> Tenant:
    user = user_create_verified(email="teammate@acme.test", password=PASSWORD)
    membership = Membership.objects.create(organization=owner.organization, user=user, role=Role.MEMBER)
    return Tenant(user, owner.organization, membership)


@pytest.fixture
def outsider(db: Any) -> Tenant:
    user = user_create_verified(email="someone@globex.test", password=PASSWORD)
    org = organization_create(name="Globex", owner=user)
    return Tenant(user, org, Membership.objects.get(user=user, organization=org))


@pytest.fixture(autouse=True)
def redis_db() -> Iterator[Any]:
    """The Redis the app uses (cache, rate limits, heartbeat), emptied around every test.
    `make test` points the suite at database 15 so that a running demo keeps its data."""
    from dashbird_clone.health import redis_client

    client = redis_client()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# --- the sandbox AWS (a real moto server over HTTP, with trust and permission checks) ---------


@dataclass
class Sandbox:
    state: Any  # devtools.sandbox.seed.SandboxState
    server: Any

    @property
    def endpoint(self) -> str:
        return str(self.server.url)

    def admin(self, service: str) -> Any:
        from devtools.sandbox.seed import admin_client

        return admin_client(service, self.endpoint, self.state.region)

    def make_role(self, name: str, *, external_id: str | None = None, actions: Any = None) -> str:
        from devtools.sandbox.seed import create_customer_role
        from kinds import REQUIRED_ACTIONS

        return create_customer_role(
            self.endpoint,
            self.state.region,
            role_name=name,
            principal=self.state.platform_principal,
            external_id=external_id or self.state.external_id,
            actions=REQUIRED_ACTIONS if actions is None else actions,
        )


@pytest.fixture(scope="session")
def sandbox_aws() -> Iterator[Sandbox]:
    from devtools.sandbox.seed import seed
    from devtools.sandbox.server import SandboxServer

    server = SandboxServer(port=0)
    server.start()
    state = seed(endpoint=server.url, region="us-east-1", count=12, seed_value=3, external_id="test-external-id-42")
    saved = {k: os.environ.get(k) for k in [*state.environment(), "AWS_PROFILE"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(state.environment())
    try:
        yield Sandbox(state, server)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.fixture
def sandbox(sandbox_aws: Sandbox, settings: Any) -> Sandbox:
    """The sandbox, with this installation configured to trust it as its AWS."""
    settings.PLATFORM_AWS_PRINCIPAL = sandbox_aws.state.platform_principal
    settings.AWS_CALL_RATE_SCALE = 100.0  # the sandbox has no quotas to share
    return sandbox_aws
