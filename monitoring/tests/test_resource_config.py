"""A resource's configuration is shown for people: labels with units, badges, lists, tables,
never a Python value, and everything escaped."""

from __future__ import annotations

import re

from django.template import Context, Template
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.templatetags.resource_config import config_label, config_value

PYTHON_REPR = re.compile(r"\[\{'|\{'|\['|\bNone\b|\bTrue\b|\bFalse\b")


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_labels_read_as_words_with_the_unit_moved_to_the_value() -> None:
    assert config_label("log_retention_days") == "Log retention"
    assert config_label("code_sha256") == "Code SHA-256"
    assert config_label("env_var_names") == "Environment variable names"
    assert config_label("vpc.subnet_ids") == "VPC › Subnet IDs"
    assert str(config_value("memory_mb", 1024)) == "1,024 MB"
    assert "4 days" in str(config_value("message_retention_s", 345600))
    assert config_label("dns_name") == "DNS name" and config_label("ssl_policy") == "SSL policy"
    listeners = str(config_value("listeners", [{"port": 8080, "protocol": "HTTP"}]))
    assert "8080" in listeners and "8,080" not in listeners


def test_booleans_nulls_lists_and_objects_have_no_python_repr() -> None:
    stages = [
        {"name": "prod", "web_acl": None, "tracing_enabled": True},
        {"name": "dev", "throttling_rate_limit": 50.5},
    ]
    html = str(config_value("stages", stages)) + str(config_value("env_var_names", ["LOG_LEVEL", "TABLE_NAME"]))
    html += str(config_value("vpc", None)) + str(config_value("tracing", False)) + str(config_value("layers", []))
    shown = text_of(html)
    assert not PYTHON_REPR.search(shown), shown
    assert '<th scope="col">Web ACL</th>' in html and "Yes" in shown and "No" in shown
    assert "LOG_LEVEL" in shown and "TABLE_NAME" in shown and "50.5" in shown


def test_a_deeply_nested_document_shows_as_json_not_python() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::1:root"]},
                "Condition": {"StringEquals": {"k": ["v"]}},
            }
        ]
    }
    shown = text_of(str(config_value("policy", policy)))
    assert not PYTHON_REPR.search(shown), shown
    assert '{"k": ["v"]}' in shown.replace("&quot;", '"')


def test_an_arn_of_a_monitored_resource_links_to_its_page_and_has_a_copy_button() -> None:
    arn = "arn:aws:sqs:us-east-1:123456789012:orders-dlq"
    html = str(config_value("dead_letter_target", arn, {arn: "/resources/7/"}))
    assert '<a href="/resources/7/"><code>arn:aws:sqs:us-east-1:123456789012:orders-dlq</code></a>' in html
    assert f'data-copy="{arn}"' in html
    assert "<a " not in str(config_value("dead_letter_target", arn, {}))


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=20,
    ),
    st.text(max_size=20),
)
def test_any_configuration_renders_escaped(value: object, key: str) -> None:
    html = Template("{% load resource_config %}{% config_value key value %}").render(
        Context({"key": key, "value": {"x": value, "evil": "<script>alert(1)</script>"}})
    )
    assert "<script>" not in html
