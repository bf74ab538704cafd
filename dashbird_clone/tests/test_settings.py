"""Settings come from the environment and fail loudly on bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = "import dashbird_clone.settings as s; print(s.TIME_ZONE, s.DATABASES['default']['HOST'])"


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "TIME_ZONE"}}
    environment["SECRET_KEY_FILE"] = "/nonexistent/secret_key"  # no local fallback key in these tests
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_good_values_load() -> None:
    result = load_settings(SECRET_KEY="x" * 50, TIME_ZONE="Europe/Tallinn")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Europe/Tallinn")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "x" * 50, "TIME_ZONE": "Mars/Olympus"}, "not an IANA time zone"),
        ({"SECRET_KEY": "x" * 50, "DEBUG": "perhaps"}, "DEBUG"),
        ({"SECRET_KEY": "x" * 50, "DATABASE_URL": "mysql://u@h/db"}, "must point at PostgreSQL"),
        ({"SECRET_KEY": "x" * 50, "REDIS_URL": "http://localhost"}, "REDIS_URL must be a redis://"),
        ({"SECRET_KEY": "x" * 50, "SITE_URL": "example.com"}, "SITE_URL must start with"),
        ({"SECRET_KEY": "x" * 50, "CELERY_TASK_TIME_LIMIT": "10"}, "CELERY_TASK_TIME_LIMIT"),
        ({"SECRET_KEY": "x" * 50, "OIDC_SERVER_URL": "https://idp.example.com"}, "OIDC_CLIENT_ID is required"),
        ({"SECRET_KEY": "x" * 50, "OIDC_SERVER_URL": "idp.example.com", "OIDC_CLIENT_ID": "c"}, "OIDC_SERVER_URL must"),
        (
            {"SECRET_KEY": "x" * 50, "OIDC_CLIENT_SECRET_FILE": "/nonexistent/oidc-secret"},
            "OIDC_CLIENT_SECRET_FILE cannot be read",
        ),
        (
            {
                "SECRET_KEY": "x" * 50,
                "OIDC_SERVER_URL": "https://i.test",
                "OIDC_CLIENT_ID": "c",
                "OIDC_PROVIDER_ID": "a/b",
            },
            "OIDC_PROVIDER_ID",
        ),
    ],
)
def test_bad_values_stop_start_up_with_a_clear_message(env: dict[str, str], message: str) -> None:
    result = load_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_local_key_file_serves_when_no_secret_key_is_set(tmp_path: Path) -> None:
    key = tmp_path / "secret_key"
    key.write_text("k" * 50)
    assert load_settings(SECRET_KEY="", SECRET_KEY_FILE=str(key)).returncode == 0


def test_manage_py_names_the_bad_setting() -> None:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    environment.update({"SECRET_KEY": "x" * 50, "TIME_ZONE": "Mars/Olympus"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "not an IANA time zone" in result.stderr


def test_a_socket_directory_can_be_given_percent_encoded() -> None:
    result = load_settings(SECRET_KEY="x" * 50, DATABASE_URL="postgres://postgres@%2Fvar%2Frun%2Fpostgresql/db")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "/var/run/postgresql"


def test_the_oidc_client_secret_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "oidc-secret"
    secret.write_text("s3cret\n")
    env = {"OIDC_SERVER_URL": "https://idp.example.com/", "OIDC_CLIENT_ID": "dashbird"}
    script = (
        "import dashbird_clone.settings as s; app = s.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS'][0]; "
        "print(app['secret'], app['settings']['server_url'], app['provider_id'])"
    )
    environment = {**os.environ, "SECRET_KEY": "x" * 50, "OIDC_CLIENT_SECRET_FILE": str(secret), **env}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["s3cret", "https://idp.example.com", "sso"]
