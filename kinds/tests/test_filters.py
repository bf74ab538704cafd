"""Include/exclude filters (pure): parsing people's input, and which resources they keep."""

from __future__ import annotations

import pytest

from kinds.filters import ResourceFilters, parse_filter, parse_filters
from kinds.lambda_function import policy_summary


def test_a_filter_is_a_name_glob_or_a_tag_filter() -> None:
    assert parse_filter(" orders-* ").tag_key is None
    tag = parse_filter("team = pay*")
    assert (tag.tag_key, tag.pattern, tag.text) == ("team", "pay*", "team=pay*")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot be empty"),
        ("=prod", "no tag key"),
        ("env=", "no value after"),
        ("a\tb", "control characters"),
        ("x" * 257, "longer than 256"),
        ("k<script>=1", "is not a tag key"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_filter(text)


def test_a_list_names_every_bad_filter_and_drops_duplicates() -> None:
    assert [f.text for f in parse_filters(["a", "", "a", "env=prod"])] == ["a", "env=prod"]
    with pytest.raises(ValueError) as info:
        parse_filters(["=x", "y="])
    assert "no tag key" in str(info.value) and "no value after" in str(info.value)
    with pytest.raises(ValueError, match="At most 50"):
        parse_filters([f"f{i}" for i in range(51)])


def test_include_then_exclude() -> None:
    filters = ResourceFilters.from_lists(["shop-*", "team=data"], ["*-dev", "env=test"])
    assert filters.keeps("shop-api", {"env": "prod"}) is True
    assert filters.keeps("batch", {"team": "data"}) is True
    assert filters.keeps("batch", {"team": "web"}) is False
    assert filters.keeps("shop-dev", {}) is False  # excluded by name
    assert filters.keeps("shop-api", {"env": "test"}) is False  # excluded by tag
    assert ResourceFilters().keeps("anything") is True
    assert not ResourceFilters()


def test_without_tags_only_what_the_name_decides_is_decided() -> None:
    filters = ResourceFilters.from_lists(["shop-*", "team=data"], ["*-dev", "env=test"])
    assert filters.keeps("shop-dev") is False  # the name is enough
    assert filters.keeps("shop-api") is None  # an exclude tag filter may still apply
    assert filters.keeps("batch") is None  # the include tag filter may still apply
    assert ResourceFilters.from_lists(["shop-*"]).keeps("batch") is False
    assert ResourceFilters.from_lists(["shop-*"]).keeps("shop-api") is True


def test_names_are_matched_case_sensitively_like_aws_names() -> None:
    assert ResourceFilters.from_lists(["Orders*"]).keeps("orders-api") is False


def test_a_bad_stored_entry_is_ignored_rather_than_fatal() -> None:
    assert ResourceFilters.from_lists(["=broken", "a*"]).include[0].text == "a*"


@pytest.mark.parametrize(
    ("policy", "public", "principals"),
    [
        ({"Statement": [{"Sid": "p", "Effect": "Allow", "Principal": "*"}]}, ["p"], ["*"]),
        (
            {
                "Statement": [
                    {
                        "Sid": "url",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
                    }
                ]
            },
            ["url"],  # the auth-type condition does not restrict who calls
            ["*"],
        ),
        (
            {
                "Statement": [
                    {
                        "Sid": "s3",
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::b"}},
                    },
                    {
                        "Sid": "any-in-account",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
                    },
                    {"Sid": "deny", "Effect": "Deny", "Principal": "*"},
                ]
            },
            [],
            ["*", "s3.amazonaws.com"],
        ),
        ({"Statement": {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]}}}, ["#0"], None),
    ],
)
def test_policy_summary_keeps_only_what_the_check_needs(
    policy: dict, public: list[str], principals: list | None
) -> None:
    import json

    summary = policy_summary(json.dumps(policy))
    assert summary is not None and summary["public_statements"] == public
    if principals is not None:
        assert summary["principals"] == principals
    assert set(summary) == {"public_statements", "principals"}


def test_an_unreadable_policy_has_no_summary() -> None:
    assert policy_summary("not json") is None
    assert policy_summary(None) is None
