"""The Lambda log corpus: cases per runtime × failure family, and how many of their expected
fields the parser gets exactly.

    .venv/bin/python benchmarks/parser_corpus.py [--cases] [--corpus DIR]

Reads the shared corpus in place (`../shared/corpus/lambda-logs/`, beside the checkout) and
the project's own cases (`monitoring/tests/data/`). An own case names its `runtime`,
`family` and `log_format`; a shared case's family comes from its tags and statuses. A field
counts as exact when it equals the expected value (or one of its `_acceptable` values);
`_lenient` fields are not counted. No database, no Django.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

OWN = BASE_DIR / "monitoring" / "tests" / "data"
SHARED = BASE_DIR.parent / "shared" / "corpus" / "lambda-logs"
RUNTIMES = ["python", "nodejs", "java", "go/provided", "dotnet", "ruby", "unknown"]
FAMILIES = ["init-failure", "unhandled-error", "timeout", "out-of-memory", "control"]


def runtime_key(runtime: str) -> str:
    """The runtime family a case's runtime string names first."""
    text = runtime.lower()
    found = [
        (text.find(token), key)
        for token, key in [
            ("python", "python"),
            ("node", "nodejs"),
            ("java", "java"),
            ("go", "go/provided"),
            ("provided", "go/provided"),
            ("dotnet", "dotnet"),
            (".net", "dotnet"),
            ("powershell", "dotnet"),
            ("ruby", "ruby"),
        ]
        if token in text
    ]
    return min(found)[1] if found else "unknown"


def shared_family(expected: dict[str, Any]) -> str:
    statuses = {inv["status"] for inv in expected["invocations"]}
    if "out_of_memory" in statuses:
        return "out-of-memory"
    if "timeout" in statuses:
        return "timeout"
    if "error" in statuses:
        return "unhandled-error"
    return "control"


def load_events(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(events: list[Any], expected: dict[str, Any]) -> tuple[int, int, list[str]]:
    """(exact fields, compared fields, misses) of one case."""
    from monitoring.parsing import invocation_to_dict, parse_events

    actual = {(inv.request_id, inv.attempt): inv for inv in parse_events(events).invocations}
    exact = total = 0
    misses: list[str] = []
    for exp in expected["invocations"]:
        key = (exp["request_id"], exp.get("attempt", 1))
        fields = [f for f in exp if not f.startswith("_") and f not in set(exp.get("_lenient", []))]
        found = actual.get(key)
        if found is None:
            if not exp.get("_optional"):
                total += len(fields)
                misses.append(f"{key[0]}: missing")
            continue
        got = invocation_to_dict(found) | {"error_frames": found.error_frames, "line_count": len(found.lines)}
        for name in fields:
            allowed = exp.get("_acceptable", {}).get(name, [exp[name]])
            total += 1
            if any(got[name] == a and isinstance(got[name], bool) == isinstance(a, bool) for a in allowed):
                exact += 1
            else:
                misses.append(f"{key[0]}.{name}: {got[name]!r} != {exp[name]!r}")
    return exact, total, misses


def cases(corpus: Path) -> list[tuple[str, str, str, str, str, Path, dict[str, Any]]]:
    """(origin, name, runtime, family, format, events path, expected) of every case."""
    out = []
    if (corpus / "expected").is_dir():
        for path in sorted((corpus / "expected").glob("*.json")):
            expected = json.loads(path.read_text(encoding="utf-8"))
            log_format = expected.get("log_format", "text")
            runtime = runtime_key(expected.get("runtime", ""))
            logs = corpus / "logs" / f"{path.stem}.jsonl"
            out.append(("shared", path.stem, runtime, shared_family(expected), log_format, logs, expected))
    for path in sorted(OWN.glob("*.expected.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        name = path.name.removesuffix(".expected.json")
        origin = "public" if expected.get("sources") else "own"
        runtime = runtime_key(expected.get("runtime", ""))
        family = expected.get("family", "control")
        out.append((origin, name, runtime, family, expected.get("log_format", "text"), OWN / f"{name}.jsonl", expected))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", action="store_true", help="also list every case with its score and misses")
    parser.add_argument("--corpus", type=Path, default=SHARED, help="the shared corpus directory")
    args = parser.parse_args()

    rows = cases(args.corpus)
    matrix: Counter[tuple[str, str]] = Counter()
    formats: Counter[tuple[str, str]] = Counter()
    origins: Counter[str] = Counter()
    exact_by: Counter[str] = Counter()
    total_by: Counter[str] = Counter()
    for origin, name, runtime, family, log_format, logs, expected in rows:
        matrix[(runtime, family)] += 1
        formats[(family, log_format)] += 1
        origins[origin] += 1
        exact, total, misses = score(load_events(logs), expected)
        exact_by[origin] += exact
        total_by[origin] += total
        if args.cases:
            flag = "" if exact == total else "  MISS " + "; ".join(misses[:3])
            print(f"{origin:<7} {runtime:<8} {family:<16} {log_format:<5} {exact:>3}/{total:<3} {name}{flag}")

    print(f"\ncases: {len(rows)} ({', '.join(f'{n} {o}' for o, n in sorted(origins.items()))})")
    print("public = own cases from public logs with their source; own = the project's synthesized cases\n")
    width = max(len(f) for f in FAMILIES) + 2
    print(f"{'runtime':<12}" + "".join(f"{f:>{width}}" for f in FAMILIES) + f"{'all':>{width}}")
    for runtime in RUNTIMES:
        counts = [matrix[(runtime, f)] for f in FAMILIES]
        if any(counts):
            print(f"{runtime:<12}" + "".join(f"{c or '-':>{width}}" for c in counts) + f"{sum(counts):>{width}}")
    print(f"{'all':<12}" + "".join(f"{sum(matrix[(r, f)] for r in RUNTIMES):>{width}}" for f in FAMILIES))
    print(f"\n{'format':<12}" + "".join(f"{f:>{width}}" for f in FAMILIES))
    for log_format in ("text", "json"):
        print(f"{log_format:<12}" + "".join(f"{formats[(f, log_format)] or '-':>{width}}" for f in FAMILIES))
    print("\nexpected fields the parser gets exactly:")
    for origin in sorted(total_by):
        share = exact_by[origin] / total_by[origin] if total_by[origin] else 1.0
        print(f"  {origin:<7} {exact_by[origin]:>5} / {total_by[origin]:<5} {share:8.1%}")


if __name__ == "__main__":
    main()
