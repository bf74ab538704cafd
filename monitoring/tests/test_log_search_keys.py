"""What log search matches, without a database: the keys a block is indexed by always hold
the keys a search for any text that starts a word in one of its lines asks for, and the exact
test (the regular expression) accepts exactly those texts."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.logsearch.keys import SearchText, block_keys, tsvector_binary


def holds(tsquery: str | None, keys: list[bytes]) -> bool:
    """Evaluate the tsqueries `SearchText` writes (AND of terms; a term is 'k', 'k':* or
    ('k':* | 'k')) against a block's keys, as PostgreSQL would."""
    if tsquery is None:
        return True
    decoded = [k.decode() for k in keys]

    def term(t: str) -> bool:
        if t.startswith("("):
            return any(term(part.strip()) for part in t.strip("()").split(" | "))
        prefix = t.endswith(":*")
        lexeme = t.removesuffix(":*")[1:-1].replace("''", "'")
        return any(k.startswith(lexeme) if prefix else k == lexeme for k in decoded)

    return all(term(t) for t in tsquery.split(" & "))


def matches(text: str, line: str) -> bool:
    # PostgreSQL's and Python's regular expressions agree on the constructs used.
    return re.search(SearchText.of(text).regex, line) is not None


def test_words_without_digits_are_kept_and_words_with_digits_by_their_start() -> None:
    keys = block_keys([b"START RequestId: 36f675cc-81e7-4ef5-a8e2-5d940ed90475 Version: $LATEST order 424242 x"])
    assert keys == [
        b"36f", b"4242", b"4ef", b"5d9", b"81e", b"a8e", b"id", b"latest", b"order", b"requestid", b"start", b"version",
    ]  # fmt: skip
    assert SearchText.of("order 4242").tsquery == "'order' & '4242'"
    assert SearchText.of("order 42").tsquery == "'order' & '42':*"
    assert SearchText.of("order 4242 ").tsquery == "'order' & '4242'"


def test_camel_case_tails_start_words() -> None:
    keys = block_keys([b"botocore.errorfactory.ResourceNotFoundException", b"KeyError: 'user_id'"])
    assert {b"resourcenotfoundexception", b"notfoundexception", b"foundexception", b"exception"} <= set(keys)
    assert {b"keyerror", b"error", b"user", b"id"} <= set(keys)
    assert b"ERROR" not in keys and b"rror" not in keys


def test_the_fragments_users_search_for_are_found() -> None:
    line = "2024-01-01T00:00:00.000Z 36f675cc-81e7-4ef5-a8e2-5d940ed90475 Task timed out after 3.00 seconds"
    error = "[ERROR] KeyError: 'user_id' Traceback (most recent call last):"
    keys = block_keys([line.encode(), error.encode()])
    for text, target in [
        ("Task timed out", line),
        ("task TIMED out", line),
        ("timed out after 3", line),
        ("36f675cc-81e7-4ef5-a8e2-5d940ed90475", line),
        ("36f675cc", line),
        ("81e7-4ef5", line),
        ("KeyError: 'user_id'", error),
        ("Error: 'user_id'", error),
        ("error", error),
        ("'user_id'", error),
        ("user_id", error),
        ("most recent call", error),
    ]:
        assert holds(SearchText.of(text).tsquery, keys), text
        assert matches(text, target), text


def test_the_middle_of_a_word_does_not_match() -> None:
    line = "Task timed out after 3.00 seconds; KeyError"
    for text in ("imed out", "ask", "eyError", "rror", "econds"):
        assert not matches(text, line), text


def test_wildcards_and_regex_characters_are_literal() -> None:
    assert SearchText.of("50%_off").like == "%50\\%\\_off%"
    assert matches("a.b", "x a.b y") and not matches("a.b", "x axb y")
    assert matches("(x)", "call (x) now") and not matches("[x]", "call x now")


def test_text_without_a_word_of_two_characters_asks_for_no_key() -> None:
    assert SearchText.of("::").tsquery is None
    assert SearchText.of("a b").tsquery is None
    assert matches("::", "a::b")


def test_the_binary_tsvector_is_counted_and_nul_terminated() -> None:
    assert tsvector_binary([b"ab", b"cd"]) == b"\x00\x00\x00\x02ab\x00\x00\x00cd\x00\x00\x00"


_alphabet = st.sampled_from([*"aZ09_-. :'\"é\tΣ", "Error", "Id", "x1", "timeout", "AB", "4242", "123", "0x"])


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(st.lists(_alphabet, min_size=1, max_size=30).map("".join), min_size=1, max_size=5),
    pick=st.data(),
)
def test_a_text_that_starts_a_word_of_a_line_finds_that_lines_block(lines: list[str], pick: st.DataObject) -> None:
    """The index never loses a match: for any line and any text starting at a word start in
    it, the block's keys hold what the text asks for and the regular expression matches."""
    line = pick.draw(st.sampled_from(lines))
    starts = [
        i
        for i in range(len(line))
        if i == 0
        or (line[i - 1].isascii() and not line[i - 1].isalnum())
        or (line[i - 1].isascii() and line[i - 1].islower() and line[i].isascii() and line[i].isupper())
    ]
    start = pick.draw(st.sampled_from(starts))
    end = pick.draw(st.integers(min_value=start + 1, max_value=len(line)))
    text = line[start:end]
    keys = block_keys([item.encode() for item in lines])
    assert holds(SearchText.of(text).tsquery, keys), (text, line)
    assert matches(text, line), (text, line)
