"""OpenAPI paths that higher apps add to the JSON API's document.

The document is served by the lowest app with an API (monitoring, `/api/v1/openapi.json`);
an app above it that serves more of `/api/v1/` (alerts: the configuration endpoints)
registers its paths and schemas here in its `AppConfig.ready()`, so that one document
lists every endpoint without the lower app importing the higher one.

Imports no app (see docs/architecture.md, "Apps and their order").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PathsFunction = Callable[[], tuple[dict[str, Any], dict[str, Any]]]  # (paths, component schemas)

_REGISTERED: dict[str, PathsFunction] = {}


def register(name: str, paths: PathsFunction) -> None:
    """Add (or, under the same name, replace) a source of paths and schemas."""
    _REGISTERED[name] = paths


def registered() -> tuple[dict[str, Any], dict[str, Any]]:
    """Every registered path and component schema, in registration order."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for source in _REGISTERED.values():
        more_paths, more_schemas = source()
        paths.update(more_paths)
        schemas.update(more_schemas)
    return paths, schemas
