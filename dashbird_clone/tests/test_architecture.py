"""The app order, enforced: lowest first `aws`, `web` ← `kinds` (pure packages) ← `accounts`
← `monitoring` ← `insights` ← `alerts` ← `dashbird_clone`, which wires them all.

Two rules, both checked over the source with `ast` (so an import hidden inside a function,
or a relative import, counts exactly like one at the top of a module):

1. A product module never imports a higher layer, nor `devtools` (development tooling).
2. Product code outside app X never names X's tables (`X_...`) in an SQL string: X owns
   them and others read through X's selectors.

See docs/architecture.md, "Apps and their order".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Rank per top-level package: a module may import a lower rank, never a higher one nor
# another package of its own rank. `aws` and `web` import no other package of the project;
# `kinds` builds on `aws` (a kind's IAM actions and describer errors) and imports no app.
LAYERS: dict[str, int] = {
    "aws": 0,
    "web": 0,
    "kinds": 1,
    "accounts": 2,
    "monitoring": 3,
    "insights": 4,
    "alerts": 5,
    "dashbird_clone": 6,
}
# Apps that own database tables (their Django app label is the package name).
TABLE_OWNERS = ("accounts", "monitoring", "insights", "alerts")
DEVTOOLS = "devtools"

SQL_WORDS = re.compile(r"\b(select|insert|update|delete|from|join|into|table|truncate)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.message}"


def product_modules() -> list[tuple[str, Path]]:
    """Every product module (dotted name, path), excluding tests and migrations."""
    found: list[tuple[str, Path]] = []
    for package in LAYERS:
        base = ROOT / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((".".join(parts), path))
    return found


def _imported_modules(module: str, path: Path, tree: ast.AST) -> list[tuple[str, int]]:
    """Absolute names of every module imported anywhere in the tree (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                # A package's own __init__ is the "current package"; a module's is its parent.
                keep = len(base) - node.level + (1 if is_package else 0)
                base = base[:keep]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.append((target, node.lineno))
    return names


def _strings(tree: ast.AST) -> list[tuple[str, int]]:
    strings: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.append((node.value, node.lineno))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else "{}"
                for part in node.values
            )
            strings.append((text, node.lineno))
    return strings


def layer_violations(modules: list[tuple[str, Path]]) -> list[Violation]:
    found: list[Violation] = []
    for module, path in modules:
        own = module.split(".")[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        for target, line in _imported_modules(module, path, tree):
            top = target.split(".")[0]
            if top == DEVTOOLS:
                found.append(Violation(module, line, f"imports development tooling {target!r}"))
            elif top in LAYERS and top != own and LAYERS[top] >= LAYERS[own]:
                found.append(Violation(module, line, f"imports higher layer {target!r}"))
    return found


def table_violations(modules: list[tuple[str, Path]]) -> list[Violation]:
    found: list[Violation] = []
    table = re.compile(r"\b(" + "|".join(TABLE_OWNERS) + r")_[a-z0-9_]+", re.IGNORECASE)
    for module, path in modules:
        own = module.split(".")[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        for text, line in _strings(tree):
            if not SQL_WORDS.search(text):
                continue
            for match in table.finditer(text):
                if match.group(1).lower() != own:
                    found.append(Violation(module, line, f"SQL names another app's table {match.group(0)!r}"))
    return found


def test_it_scans_every_app() -> None:
    packages = {module.split(".")[0] for module, _ in product_modules()}
    assert packages >= {"aws", "web", "kinds", "accounts", "monitoring", "insights", "alerts", "dashbird_clone"}


def test_no_module_imports_a_higher_layer_or_devtools() -> None:
    violations = layer_violations(product_modules())
    assert not violations, "Imports against the app order:\n" + "\n".join(map(str, violations))


def test_no_app_names_another_apps_tables_in_sql() -> None:
    violations = table_violations(product_modules())
    assert not violations, "SQL on another app's tables:\n" + "\n".join(map(str, violations))


def test_the_scan_catches_an_import_inside_a_function(tmp_path: Path) -> None:
    source = tmp_path / "accounts" / "thing.py"
    source.parent.mkdir()
    source.write_text("def f():\n    from ..alerts import services\n    import devtools.sandbox\n")
    found = layer_violations([("accounts.thing", source)])
    assert [(v.line, v.message) for v in found] == [
        (2, "imports higher layer 'alerts'"),
        (3, "imports development tooling 'devtools.sandbox'"),
    ]


def test_the_scan_catches_sql_on_another_apps_table(tmp_path: Path) -> None:
    source = tmp_path / "alerts" / "thing.py"
    source.parent.mkdir()
    source.write_text(
        'SQL = """SELECT 1 FROM monitoring_invocation WHERE x"""\nOWN = "SELECT * FROM alerts_incident"\n'
    )
    found = table_violations([("alerts.thing", source)])
    assert [(v.module, v.line) for v in found] == [("alerts.thing", 1)]


# Collection is fetch (pure) → store: what reads AWS and parses imports neither Django nor
# the modules that write (docs/architecture.md §2). `parsing`, `fingerprint`, the GC pause and
# log search's keys are pure too.
PURE = {
    "monitoring.collection.discovery",
    "monitoring.collection.metrics",
    "monitoring.collection.logs",
    "monitoring.collection.traces",
    "monitoring.fingerprint",
    "monitoring.gcpause",
    "monitoring.logsearch.keys",
}
IMPURE = ("django", "monitoring.models", "monitoring.store", "monitoring.services", "monitoring.selectors")


def test_the_fetch_side_of_collection_imports_no_django_and_no_storage() -> None:
    modules = dict(product_modules())
    assert modules.keys() >= PURE
    problems = [
        f"{module}:{line}: imports {imported}"
        for module in sorted(PURE)
        for imported, line in _imported_modules(module, modules[module], ast.parse(modules[module].read_text()))
        if imported.startswith(IMPURE)
    ]
    assert not problems, "\n".join(problems)
