from __future__ import annotations

import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_every_environment_setting_is_in_the_readme_table() -> None:
    settings_source = (BASE_DIR / "dashbird_clone" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+|_bool)\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))
    readme = (BASE_DIR / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`[ ,|]", readme, flags=re.MULTILINE))

    assert read, "no settings found: the pattern is stale"
    assert read - documented == set()


def test_the_readme_lists_exactly_the_role_s_permissions_with_the_registry_s_reasons() -> None:
    from aws.permissions import OPTIONAL_ACTIONS
    from kinds import REQUIRED_ACTIONS

    readme = (BASE_DIR / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z0-9-]+:[A-Za-z*]+)` \| (.*?) \|$", readme, flags=re.MULTILINE))
    assert set(rows) == set(REQUIRED_ACTIONS) | set(OPTIONAL_ACTIONS)
    # The reasons too: the table is the registry's (each kind module's ACTIONS), word for word.
    assert {a: rows[a] for a in REQUIRED_ACTIONS} == REQUIRED_ACTIONS
