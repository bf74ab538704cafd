"""What log search matches, and the keys that find it (pure: no Django). docs/architecture.md §6.

**What matches.** A line matches the searched text when the text occurs in it starting at
the start of a word, ASCII letters compared without case. A word starts at the beginning
of the line, after any ASCII character that is not a letter or digit (space, punctuation,
`_`, `-`, `.`, `:`, quotes, tabs…), and inside a camelCase word where a lower-case ASCII
letter is followed by an upper-case one. Text that itself starts with such a separator
(`'user_id'`, `: timeout`) may start anywhere. So `Task timed out`, `timed out after`,
`KeyError: 'user_id'`, `Error: 'user_id'` (inside KeyError), `36f675cc` (a request id or
its start), `81e7-4ef5` (a part of one) and `REPORT RequestId` all match; `imed out` (the
middle of "timed") does not. Characters outside ASCII count as letters and are compared
exactly.

**How it is found.** Log lines are grouped into *blocks* of up to `BLOCK_LINES` lines of
one function, written together and within one UTC day; each block is indexed (a GIN index
over a `tsvector`) by the keys of the words in its lines: a word without a digit by itself
(up to 100 bytes), a word with a digit by its first four bytes when they are all digits and
by its first three otherwise (ids, numbers, hex: nearly all distinct, and an index entry
per distinct value is what made ingestion slow), and each camelCase tail (`KeyError` → `keyerror`, `error`). A search turns its text
into the keys that every matching line's block must hold (`SearchText.tsquery`), reads the
lines of the blocks that hold them, and keeps the lines that match exactly
(`SearchText.regex`). The keys only ever narrow which blocks are read; the regular
expression alone decides which lines match, so the result never depends on which lines
share a block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BLOCK_LINES = 256
# A block's keys must fit a tsvector (1 MB): keys are at most the block's text plus 4 bytes
# each, so a block also ends at this much text.
BLOCK_BYTES = 256 * 1024

# A tsvector holds at most 1 MB of lexemes (PostgreSQL's MAXSTRPOS). A block's words fit
# (each key is at most its word), but the camelCase tails of one long mixed-case word do not
# always (30 KB of random letters make 0.75 MB of keys): a block whose keys exceed this is
# stored with the one lexeme `UNINDEXED` instead, a key no word can have ("_" separates
# words), and every search with keys reads it. Its lines are stored and found, never refused.
KEYS_MAX = 1_000_000
UNINDEXED = b"_unindexed_"

WORD_MAX = 100  # bytes of a word without digits kept as its key
DIGIT_KEY = 3  # bytes of a word with a digit (and a letter) kept as its key: ids, hex
NUMBER_KEY = 4  # bytes of a word of digits only kept as its key: order ids, counts, years


def _separator_table() -> bytes:
    table = bytearray(range(256))
    for b in range(128):
        if not (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A):
            table[b] = 0x20
    return bytes(table)


# Every ASCII byte that is not a letter or digit becomes a space; bytes of other characters
# (always >= 0x80 in UTF-8) stay, so a multi-byte character is never split.
SEPARATORS = _separator_table()
_CAMEL_STARTS = re.compile(rb"(?<=[a-z])[A-Z]")  # where a camelCase tail starts
_DIGIT = re.compile(rb"[0-9]")
_DIGITS = [bytes([d]) for d in b"0123456789"]


def _cut(word: bytes, size: int) -> bytes:
    """The first `size` bytes of `word`, without a character cut in two."""
    if len(word) <= size:
        return word
    return word[:size].decode("utf-8", "ignore").encode()


def key_of(word: bytes) -> bytes | None:
    """The key of one (lower-cased) word, or None for a one-byte word."""
    if len(word) < 2:
        return None
    if not _DIGIT.search(word):
        return _cut(word, WORD_MAX)
    return word[:NUMBER_KEY] if word[:NUMBER_KEY].isdigit() else _cut(word, DIGIT_KEY)


def _tail_key(word: bytes, start: int, digit: bool) -> bytes | None:
    """`key_of(word[start:])`, given whether that tail holds a digit: it reads at most
    WORD_MAX bytes of the tail, so a word of many tails costs its length, not its square."""
    size = len(word) - start
    if size < 2:
        return None
    head = word[start : start + WORD_MAX]
    if digit and head[:NUMBER_KEY].isdigit():
        return head[:NUMBER_KEY]
    limit = DIGIT_KEY if digit else WORD_MAX
    return head[:limit] if size <= limit else head[:limit].decode("utf-8", "ignore").encode()


def block_keys_reference(messages: Iterable[bytes]) -> list[bytes]:
    """The sorted keys of a block's lines (UTF-8): `key_of` each distinct word and each
    camelCase tail, inlined. Ingestion runs the compiled `monitoring/_cingest.c`, the same
    function (the tests compare the two on arbitrary bytes), where it is built."""
    # One C-level pass splits and de-duplicates; Python only sees each distinct word once.
    words = set(b"\n".join(messages).translate(SEPARATORS).split())
    lowered = {w.lower() for w in words}
    tails: set[bytes | None] = set()
    for word in words:
        if not word.islower() and not word.isupper() and word.lower() != word:  # mixed case
            low = word.lower()
            last_digit = max(low.rfind(d) for d in _DIGITS)
            tails.update(_tail_key(low, m.start(), last_digit >= m.start()) for m in _CAMEL_STARTS.finditer(word))
    digit = _DIGIT.search
    keys = {
        ((w[:NUMBER_KEY] if w[:NUMBER_KEY].isdigit() else w[:DIGIT_KEY]) if digit(w) else w[:WORD_MAX])
        if w.isascii()
        else key_of(w)
        for w in lowered
        if len(w) > 1
    } | tails
    return sorted(k for k in keys if k is not None)


try:
    from monitoring._cingest import block_keys as _compiled_block_keys
except ImportError:  # not built (`make venv` builds it): the same keys, about four times slower
    _compiled_block_keys = None

COMPILED = _compiled_block_keys is not None


def block_keys(messages: Sequence[bytes]) -> list[bytes]:
    """The sorted keys of a block's lines (UTF-8 each), compiled where built."""
    if _compiled_block_keys is not None:
        return _compiled_block_keys(messages)
    return block_keys_reference(messages)


def tsvector_binary(keys: list[bytes]) -> bytes:
    """`keys` (sorted, distinct) in PostgreSQL's binary tsvector format, for COPY: a count,
    then each lexeme NUL-terminated with no positions. Keys of more than `KEYS_MAX` bytes in
    all become the one lexeme `UNINDEXED`."""
    if sum(map(len, keys)) > KEYS_MAX:
        keys = [UNINDEXED]
    return len(keys).to_bytes(4, "big") + b"".join(k + b"\x00\x00\x00" for k in keys)


_ASCII_SEPARATOR = "[\\x01-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]"


@dataclass(frozen=True)
class SearchText:
    """The searched text, ready for the database: the keys a matching line's block holds
    (`tsquery`, None when the text has no word of two characters), a LIKE pattern every
    matching line also matches (a cheap first filter) and the exact test (`regex`, a
    case-sensitive PostgreSQL regular expression)."""

    text: str
    tsquery: str | None
    like: str
    regex: str

    @classmethod
    def of(cls, text: str) -> SearchText:
        return cls(text, _tsquery(text), _like(text), _regex(text))


def _tsquery(text: str) -> str | None:
    data = text.encode("utf-8", "replace")
    spans = [(m.start(), m.end()) for m in re.finditer(rb"[^ ]+", data.translate(SEPARATORS))]
    terms: list[str] = []
    for start, end in spans:
        word = data[start:end].lower()
        if len(word) < 2:
            continue
        # Bounded on the right: the line's word ends where this one does (a separator
        # follows in the text). At the text's end, the line's word may go on.
        whole = end < len(data)
        if whole:
            terms.append(_lexeme(key_of(word)))
        elif _DIGIT.search(word):
            # The line's word starts with this one, digit included: its key is its first four
            # bytes when they are digits, else its first three, as this word's are.
            if len(word) >= NUMBER_KEY or (len(word) == DIGIT_KEY and not word.isdigit()):
                terms.append(_lexeme(key_of(word)))
            else:  # too short to tell which: any key starting with it
                terms.append(_lexeme(word) + ":*")
        elif len(word) >= DIGIT_KEY:
            # A word without digits keeps its start; one with a digit after it, three bytes.
            terms.append(f"({_lexeme(_cut(word, WORD_MAX))}:* | {_lexeme(_cut(word, DIGIT_KEY))})")
        else:
            terms.append(_lexeme(word) + ":*")
    return " & ".join(terms) or None


def blocks_tsquery(tsquery: str) -> str:
    """The blocks to read for `tsquery`: those holding its keys, and those marked UNINDEXED."""
    return f"({tsquery}) | {_lexeme(UNINDEXED)}"


def _lexeme(key: bytes | None) -> str:
    # Keys hold letters, digits and non-ASCII characters only: nothing to escape but quotes.
    return "'" + (key or b"").decode().replace("'", "''") + "'"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _regex(text: str) -> str:
    body = "".join(_char(c) for c in text)
    first = text[:1]
    if first and first.isascii() and not first.isalnum():
        return body  # the text starts with a separator: anywhere
    # At the line's start, after a separator, or at a camelCase boundary (a lower-case letter
    # followed by the upper-case letter the text starts with).
    return f"(?:^|{_ASCII_SEPARATOR}|[a-z](?=[A-Z])){body}"


def _char(c: str) -> str:
    if c.isascii() and c.isalpha():
        return f"[{c.upper()}{c.lower()}]"
    if c.isascii() and not c.isalnum():
        return "\\" + c if c not in "\x00\n\r\t" else {"\x00": "", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[c]
    return c
