"""Reading a configuration document: YAML from an operator's file, parsed defensively.

1. At most MAX_BYTES, UTF-8.
2. The event stream is read first, without building anything: anchors and aliases are
   refused (an alias bomb expands to billions of nodes), so are explicit tags
   (`!!python/object`, `!!binary`, `!!set`: nothing in a configuration needs one),
   nesting deeper than MAX_DEPTH and more than MAX_NODES nodes.
3. Only then `yaml.SafeLoader` builds plain mappings, lists and scalars, refusing a key
   given twice in one mapping (YAML would silently keep the last).
Every refusal is a DocumentError whose message says where (line and column).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 12
MAX_NODES = 200_000


class DocumentError(ValueError):
    """A document that cannot be read at all (as opposed to a field that is wrong)."""


def _where(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                raise DocumentError(f"a mapping key must be a plain value ({_where(key_node)})") from None
            if duplicate:
                raise DocumentError(f"{key!r} is given twice in one mapping ({_where(key_node)})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _screen(text: str) -> None:
    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, AliasEvent):
            raise DocumentError(f"anchors and aliases (*{event.anchor}) are not supported ({_where(event)})")
        if isinstance(event, NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise DocumentError(f"the document has more than {MAX_NODES} values")
            if event.anchor is not None:
                raise DocumentError(f"anchors and aliases (&{event.anchor}) are not supported ({_where(event)})")
            if getattr(event, "tag", None) is not None:  # None unless the document wrote a tag
                raise DocumentError(f"YAML tags ({getattr(event, 'tag', '')}) are not supported ({_where(event)})")
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise DocumentError(f"the document nests deeper than {MAX_DEPTH} levels ({_where(event)})")
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def load(data: bytes | str) -> dict[str, Any]:
    """The document as a dict, or DocumentError."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise DocumentError(f"the document is {len(raw)} bytes; at most {MAX_BYTES} are read")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"the document is not UTF-8 (byte {exc.start})") from None
    try:
        _screen(text)
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except DocumentError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise DocumentError(f"not valid YAML: {exc.problem or exc.context}{where}") from None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        raise DocumentError(f"not valid YAML: {type(exc).__name__}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise DocumentError(f"the document must be a mapping (version:, projects:, …), not a {_kind(document)}")
    return document


def dump(document: dict[str, Any], header: str = "") -> str:
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    return header + body


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )
