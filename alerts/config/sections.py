"""The sections of a configuration document, one class per kind of object.

Each section knows, for its kind: the objects of an organisation (`objects`), the natural
key that names one (`key`), its state as document values (`state`: what is compared; the
export writes it, secrets as references, defaults left out), how a document item becomes a
validated change (`prepare`, through the form or service that validates that kind in the
pages too) and how it is written (`Prepared.save`) or removed (`delete`).

Alert rules follow `RuleForm.Meta.fields`: a field added to the form (and so to the rule
page) is exported, applied and served by the API without a change here.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.db.models import Model

from accounts.models import Membership, Organization
from insights.forms import SuppressionSpecForm
from insights.models import Finding, Suppression
from insights.selectors import active_suppressions
from insights.services import suppression_create, suppression_lift, suppression_update
from monitoring import services as monitoring_services
from monitoring.forms import ProjectForm
from monitoring.models import Project
from monitoring.selectors import live_resources, projects_of

from ..channels import REGISTRY, ConfigError, enabled_kinds, get_kind
from ..forms import DigestSubscriptionForm, RuleForm
from ..models import AlertRule, Channel, DigestSubscription
from ..services import (
    ChannelInUse,
    channel_config_clean,
    channel_create,
    channel_delete,
    channel_update,
    digest_subscription_delete,
    digest_subscription_set,
    rule_create,
    rule_delete,
    rule_update,
)
from .fields import MISSING, Problems, choices_of, encode, form_problems, form_value, join, resolve, unknown_keys

ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]{0,127})\}$")
# The installation's own secrets never become a channel's setting (a file must not be able
# to send them to a webhook): references read only channel secrets, never these.
INSTALLATION_SECRETS = re.compile(
    r"^(SECRET_KEY|FIELD_ENCRYPTION_KEYS|DATABASE_URL|REDIS_URL|OIDC_CLIENT_SECRET|EMAIL_HOST_PASSWORD|EMAIL_URL"
    r"|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)(_FILE)?$"
)
SECRET_SHOWN = "(secret)"


@dataclass
class Prepared:
    """A validated item: its key, its state as document values, and how to write it."""

    key: str
    state: dict[str, Any]
    save: Callable[[], Model]


class RefusedDelete(ValueError):
    """An object that cannot be removed now; the message says why."""


class Section(ABC):
    key_field: ClassVar[str] = "name"
    document_key: ClassVar[str]  # "alert_rules"
    label: ClassVar[str]  # "alert rule"
    audit_name: ClassVar[str]  # "alert_rule"
    # Fields whose value never leaves the server (shown as "(secret)" in plans and the audit log).
    secret_paths: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def objects(self, organization: Organization) -> list[Any]:
        """The organisation's objects of this section, in the document's order."""

    def key(self, state: Mapping[str, Any]) -> str:
        return str(state.get(self.key_field, ""))

    def item_key(self, item: Mapping[str, Any], path: str, problems: Problems) -> str | None:
        """The natural key a raw document item names, or None after adding the problem."""
        value = item.get(self.key_field)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            problems.add(join(path, self.key_field), "is required (text)")
            return None
        return value

    @abstractmethod
    def state(self, obj: Any) -> dict[str, Any]:
        """An object as the document holds it (natural keys, no ids), to compare and plan."""

    def export(self, obj: Any) -> dict[str, Any]:
        return self.state(obj)

    @abstractmethod
    def fields(self) -> list[str]:
        """The keys an item of this section may have."""

    @abstractmethod
    def prepare(
        self,
        organization: Organization,
        item: dict[str, Any],
        path: str,
        instance: Any,
        problems: Problems,
        env: Mapping[str, str] | None,
    ) -> Prepared | None:
        """Validate an item through the section's one validation home (its form or service):
        what saving it would store, or None after adding the problems."""

    @abstractmethod
    def delete(self, obj: Any) -> None:
        """Delete through the app's service (RefusedDelete when something still uses it)."""

    def is_secret(self, state: Mapping[str, Any], name: str) -> bool:
        return name in self.secret_paths

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of an item, for the OpenAPI document (sections the write API
        serves say more: their fields' types)."""
        return {"type": "object", "properties": {name: {} for name in self.fields()}, "additionalProperties": False}


def _without_defaults(state: dict[str, Any], defaults: dict[str, Any], keep: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k in keep or defaults.get(k, MISSING) != v}


def _field_schema(form_field: forms.Field) -> dict[str, Any]:
    """The JSON schema of a document value that `form_field` validates."""
    if isinstance(form_field, forms.ModelMultipleChoiceField | forms.MultipleChoiceField):
        item: dict[str, Any] = {"type": "string"}
        if isinstance(form_field, forms.MultipleChoiceField) and not isinstance(
            form_field, forms.ModelMultipleChoiceField
        ):
            item["enum"] = [str(k) for k, _ in choices_of(form_field) if k != ""]
        return {"type": "array", "items": item, "maxItems": 1000}
    if isinstance(form_field, forms.ModelChoiceField):
        return {"type": "string", "nullable": True, "maxLength": 2048}
    if isinstance(form_field, forms.BooleanField):
        return {"type": "boolean"}
    if isinstance(form_field, forms.FloatField):
        return {"type": "number", "nullable": not form_field.required}
    if isinstance(form_field, forms.IntegerField):
        schema: dict[str, Any] = {"type": "integer", "nullable": not form_field.required}
        if form_field.min_value is not None:
            schema["minimum"] = form_field.min_value
        if form_field.max_value is not None:
            schema["maximum"] = form_field.max_value
        return schema
    if isinstance(form_field, forms.DateTimeField):
        return {"type": "string", "format": "date-time", "nullable": True}
    if isinstance(form_field, forms.ChoiceField):
        return {"type": "string", "enum": [str(k) for k, _ in choices_of(form_field)]}
    schema = {"type": "string"}
    max_length = getattr(form_field, "max_length", None)
    if max_length:
        schema["maxLength"] = max_length
    return schema


# --- projects -------------------------------------------------------------------------------------


class ProjectSection(Section):
    document_key = "projects"
    label = "project"
    audit_name = "project"

    def objects(self, organization: Organization) -> list[Project]:
        return list(projects_of(organization).order_by("name", "pk"))

    def fields(self) -> list[str]:
        return list(ProjectForm.base_fields)

    def state(self, obj: Project) -> dict[str, Any]:
        tag = f"{obj.tag_key}={obj.tag_value}" if obj.tag_value else obj.tag_key
        return {"name": obj.name, "tag": tag, "name_pattern": obj.name_pattern}

    def export(self, obj: Project) -> dict[str, Any]:
        return _without_defaults(self.state(obj), {"tag": "", "name_pattern": ""}, ("name",))

    def prepare(
        self,
        organization: Organization,
        item: dict[str, Any],
        path: str,
        instance: Project | None,
        problems: Problems,
        env: Mapping[str, str] | None,
    ) -> Prepared | None:
        before = len(problems)
        unknown_keys(item, self.fields(), path, problems)
        data = {}
        for name, form_field in ProjectForm.base_fields.items():
            data[name] = form_value(form_field, item.get(name, ""), join(path, name), problems)
        if len(problems) > before:
            return None
        form = ProjectForm(data=data)
        if not form.is_valid():
            form_problems(form, path, problems)
            return None
        cleaned = form.cleaned_data
        values = {k: cleaned[k] for k in ("name", "tag_key", "tag_value", "name_pattern")}
        tag = f"{values['tag_key']}={values['tag_value']}" if values["tag_value"] else values["tag_key"]

        def save() -> Project:
            if instance is None:
                return monitoring_services.project_create(organization=organization, **values)[0]
            monitoring_services.project_update(project=instance, **values)
            return instance

        return Prepared(
            values["name"], {"name": values["name"], "tag": tag, "name_pattern": values["name_pattern"]}, save
        )

    def delete(self, obj: Project) -> None:
        users = list(AlertRule.objects.filter(target_project=obj).order_by("name").values_list("name", flat=True))
        if users:
            raise RefusedDelete(f"alert rules target it: {', '.join(users)}; change or delete them first")
        monitoring_services.project_delete(project=obj)

    def json_schema(self) -> dict[str, Any]:
        return _object_schema({n: _field_schema(f) for n, f in ProjectForm.base_fields.items()}, ["name"])


# --- channels -------------------------------------------------------------------------------------


def env_variable(channel_name: str, field: str) -> str:
    """The environment variable an export names for a channel's secret."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", channel_name).strip("_").upper() or "CHANNEL"
    return f"DASHBIRD_CHANNEL_{stem}_{field.upper()}"


class ChannelSection(Section):
    document_key = "channels"
    label = "channel"
    audit_name = "channel"

    def objects(self, organization: Organization) -> list[Channel]:
        return list(Channel.objects.filter(organization=organization).order_by("name", "pk"))

    def fields(self) -> list[str]:
        return ["name", "kind", "enabled", "config"]

    def state(self, obj: Channel) -> dict[str, Any]:
        return {"name": obj.name, "kind": obj.kind, "enabled": obj.enabled, "config": dict(obj.config)}

    def export(self, obj: Channel) -> dict[str, Any]:
        state = self.state(obj)
        secret = _secret_fields(obj.kind, state["config"])
        state["config"] = {
            k: (f"${{{env_variable(obj.name, k)}}}" if k in secret else v) for k, v in sorted(state["config"].items())
        }
        return _without_defaults(state, {"enabled": True}, ("name", "kind", "config"))

    def public(self, obj: Channel) -> dict[str, Any]:
        """The state without its secrets (the API's answer): secret fields are write-only."""
        state = self.state(obj)
        secret = _secret_fields(obj.kind, state["config"])
        state["config"] = {k: v for k, v in sorted(state["config"].items()) if k not in secret}
        state["secret_fields"] = sorted(secret)
        return state

    def is_secret(self, state: Mapping[str, Any], name: str) -> bool:
        config = state.get("config")
        secret = _secret_fields(str(state.get("kind")), config if isinstance(config, dict) else {})
        return name.startswith("config.") and name.removeprefix("config.") in secret

    def prepare(
        self,
        organization: Organization,
        item: dict[str, Any],
        path: str,
        instance: Channel | None,
        problems: Problems,
        env: Mapping[str, str] | None,
    ) -> Prepared | None:
        before = len(problems)
        unknown_keys(item, self.fields(), path, problems)
        name, kind = item.get("name"), item.get("kind")
        enabled = item.get("enabled", True)
        config = item.get("config", {})
        if not isinstance(name, str) or not name.strip() or len(name) > 120 or not name.isprintable():
            problems.add(join(path, "name"), "is required: one line of text, at most 120 characters")
        kinds = _kinds()
        if kind not in kinds:
            problems.add(join(path, "kind"), f"must be one of: {', '.join(kinds)}")
        if not isinstance(enabled, bool):
            problems.add(join(path, "enabled"), "must be true or false")
        if not isinstance(config, dict):
            problems.add(join(path, "config"), "must be a mapping of the channel's settings")
        if len(problems) > before:
            return None
        assert isinstance(name, str) and isinstance(kind, str) and isinstance(config, dict)
        channel_kind = get_kind(kind)
        resolved: dict[str, Any] = {}
        allowed = list(channel_kind.form_class.base_fields)
        for key, value in config.items():
            where = join(join(path, "config"), str(key))
            if key not in allowed:
                problems.add(where, f"unknown setting of a {kind} channel (expected one of: {', '.join(allowed)})")
                continue
            if isinstance(value, str) and env is not None and (match := ENV_REFERENCE.match(value)):
                if key not in channel_kind.secret_fields:
                    problems.add(where, "only a secret setting may read an environment variable")
                    continue
                if INSTALLATION_SECRETS.match(match.group(1)):
                    problems.add(where, f"{match.group(1)} is the installation's own secret, never a channel's")
                    continue
                if match.group(1) not in env:
                    problems.add(where, f"environment variable {match.group(1)} is not set")
                    continue
                value = env[match.group(1)]
            if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
                problems.add(where, "must be text (or a list of text)")
                continue
            resolved[key] = value
        if instance is not None and instance.kind == kind:
            # Secrets are write-only: one left out keeps the stored value.
            for key in channel_kind.secret_fields:
                if key not in config and key in instance.config:
                    resolved[key] = instance.config[key]
        if len(problems) > before:
            return None
        try:
            cleaned = channel_config_clean(organization=organization, kind=kind, config=resolved)
        except ConfigError as exc:
            problems.add(join(join(path, "config"), exc.field), exc.detail)
            return None
        except ValueError as exc:
            problems.add(join(path, "config"), str(exc))
            return None
        name = name.strip()

        def save() -> Channel:
            if instance is None:
                channel, _ = channel_create(organization=organization, kind=kind, name=name, config=cleaned)
                if not enabled:
                    channel_update(channel=channel, name=name, config=cleaned, enabled=False)
                return channel
            if instance.kind != kind:
                instance.kind = kind
            channel_update(channel=instance, name=name, config=cleaned, enabled=enabled)
            return instance

        return Prepared(name, {"name": name, "kind": kind, "enabled": enabled, "config": cleaned}, save)

    def delete(self, obj: Channel) -> None:
        try:
            channel_delete(channel=obj)
        except ChannelInUse as exc:
            raise RefusedDelete(str(exc)) from exc

    def json_schema(self) -> dict[str, Any]:
        return _object_schema(
            {
                "name": {"type": "string", "maxLength": 120},
                "kind": {"type": "string", "enum": _kinds()},
                "enabled": {"type": "boolean"},
                "config": {
                    "type": "object",
                    "description": "The kind's settings: "
                    + "; ".join(f"{k}: {', '.join(get_kind(k).form_class.base_fields)}" for k in _kinds())
                    + ". Secret settings are write-only: left out, the stored value stays.",
                    "additionalProperties": {"type": "string", "maxLength": 2000},
                },
            },
            ["name", "kind", "config"],
        )


def _kinds() -> list[str]:
    return [k.kind for k in enabled_kinds()]


def _secret_fields(kind: str, config: Mapping[str, Any]) -> set[str]:
    """A kind's secret settings; every setting of a kind this installation does not know."""
    return set(REGISTRY[kind].secret_fields) if kind in REGISTRY else set(config)


# --- alert rules ----------------------------------------------------------------------------------


class RuleSection(Section):
    """Driven by RuleForm: its fields are the document's, plus the rule's switches."""

    document_key = "alert_rules"
    label = "alert rule"
    audit_name = "alert_rule"
    switches: ClassVar[tuple[str, ...]] = ("enabled", "muted")

    def objects(self, organization: Organization) -> list[AlertRule]:
        return list(
            AlertRule.objects.filter(organization=organization)
            .select_related("target_account", "target_project")
            .prefetch_related("channels", "target_resources")
            .order_by("name", "pk")
        )

    def form_fields(self) -> list[str]:
        return list(RuleForm.Meta.fields)

    def own_switches(self) -> list[str]:
        """The switches the form does not edit itself."""
        return [name for name in self.switches if name not in self.form_fields()]

    def fields(self) -> list[str]:
        names = self.form_fields()
        return [names[0], *self.own_switches(), *names[1:]]

    def _defaults(self) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        for name in self.fields():
            field = AlertRule._meta.get_field(name)
            defaults[name] = [] if field.many_to_many else encode(field.get_default())  # type: ignore[union-attr]
        return defaults

    def state(self, obj: AlertRule) -> dict[str, Any]:
        return {name: encode(getattr(obj, name)) for name in self.fields()}

    def export(self, obj: AlertRule) -> dict[str, Any]:
        return _without_defaults(self.state(obj), self._defaults(), ("name",))

    def prepare(
        self,
        organization: Organization,
        item: dict[str, Any],
        path: str,
        instance: AlertRule | None,
        problems: Problems,
        env: Mapping[str, str] | None,
    ) -> Prepared | None:
        before = len(problems)
        unknown_keys(item, self.fields(), path, problems)
        defaults = self._defaults()
        probe = RuleForm(organization=organization)
        data: dict[str, Any] = {}
        for name in self.form_fields():
            value = item.get(name, defaults[name])
            converted = form_value(probe.fields[name], value, join(path, name), problems)
            if converted is not MISSING and converted is not False:  # an unticked box is not posted
                data[name] = converted
        switches: dict[str, bool] = {}
        for name in self.own_switches():
            value = item.get(name, defaults[name])
            if not isinstance(value, bool):
                problems.add(join(path, name), "must be true or false")
            switches[name] = bool(value)
        if len(problems) > before:
            return None
        form = RuleForm(data=data, instance=instance, organization=organization)
        if not form.is_valid():
            form_problems(form, path, problems)
            return None
        state = {
            name: switches[name] if name in switches else encode(form.cleaned_data.get(name)) for name in self.fields()
        }

        def save() -> AlertRule:
            if instance is None:
                return rule_create(organization=organization, form=form, **switches)
            return rule_update(form=form, **switches)

        return Prepared(str(state["name"]), state, save)

    def delete(self, obj: AlertRule) -> None:
        rule_delete(rule=obj)

    def json_schema(self) -> dict[str, Any]:
        probe = RuleForm(organization=None)
        properties = {name: _field_schema(probe.fields[name]) for name in self.form_fields()}
        for name in self.own_switches():
            properties[name] = {"type": "boolean"}
        return _object_schema({n: properties[n] for n in self.fields()}, ["name"])


# --- suppressions ---------------------------------------------------------------------------------


class SuppressionSection(Section):
    """Insight suppressions in force. One is named by what it covers: a check everywhere
    (`check`), every check on a resource (`resource`: its ARN), or one finding (`check`
    with the finding's `resource`, or its `account` for an account-wide finding)."""

    document_key = "suppressions"
    label = "suppression"
    audit_name = "suppression"
    identity: ClassVar[tuple[str, ...]] = ("scope", "check", "resource", "account")

    def objects(self, organization: Organization) -> list[Suppression]:
        newest: dict[str, Suppression] = {}
        for suppression in active_suppressions(organization):
            newest[self.key(self.state(suppression))] = suppression  # a later one of the same key wins
        return sorted(newest.values(), key=lambda s: self.key(self.state(s)))

    def fields(self) -> list[str]:
        return [*self.identity, "reason", "expires_at"]

    def key(self, state: Mapping[str, Any]) -> str:
        return " ".join(f"{k}={state[k]}" for k in self.identity if state.get(k))

    def item_key(self, item: Mapping[str, Any], path: str, problems: Problems) -> str | None:
        for name in self.identity:
            if not isinstance(item.get(name, ""), str | int) or isinstance(item.get(name), bool):
                problems.add(join(path, name), "must be text")
                return None
        if not item.get("scope"):
            problems.add(join(path, "scope"), f"is required: one of {', '.join(Suppression.Scope.values)}")
            return None
        return self.key({k: str(v) for k, v in item.items() if k in self.identity and v not in (None, "")})

    def state(self, obj: Suppression) -> dict[str, Any]:
        state: dict[str, Any] = {"scope": obj.scope}
        if obj.scope == Suppression.Scope.CHECK:
            state["check"] = obj.check_id
        elif obj.scope == Suppression.Scope.RESOURCE:
            state["resource"] = obj.resource.arn if obj.resource else ""
        elif obj.finding is not None:
            state["check"] = obj.finding.check_id
            if obj.finding.resource is not None:
                state["resource"] = obj.finding.resource.arn
            else:
                state["account"] = obj.finding.account.aws_account_id
        state["reason"] = obj.reason
        state["expires_at"] = encode(obj.expires_at)
        return state

    def export(self, obj: Suppression) -> dict[str, Any]:
        return _without_defaults(self.state(obj), {"expires_at": None}, ())

    def prepare(
        self,
        organization: Organization,
        item: dict[str, Any],
        path: str,
        instance: Suppression | None,
        problems: Problems,
        env: Mapping[str, str] | None,
    ) -> Prepared | None:
        before = len(problems)
        unknown_keys(item, self.fields(), path, problems)
        probe = SuppressionSpecForm(organization=organization)
        scope = form_value(probe.fields["scope"], item.get("scope"), join(path, "scope"), problems)
        check = form_value(probe.fields["check_id"], item.get("check", ""), join(path, "check"), problems)
        arn = form_value(forms.CharField(), item.get("resource", ""), join(path, "resource"), problems)
        account = item.get("account", "")
        account = str(account) if isinstance(account, int) and not isinstance(account, bool) else account
        if not isinstance(account, str) or (account and not re.fullmatch(r"\d{12}", account)):
            problems.add(join(path, "account"), "must be a 12-digit AWS account id")
        reason = form_value(probe.fields["reason"], item.get("reason"), join(path, "reason"), problems)
        expires_at = form_value(probe.fields["expires_at"], item.get("expires_at"), join(path, "expires_at"), problems)
        if len(problems) > before:
            return None
        data: dict[str, Any] = {"scope": scope, "reason": reason, "expires_at": expires_at, "check_id": ""}
        if scope == Suppression.Scope.FINDING:
            findings = Finding.objects.filter(organization=organization, check_id=check)
            findings = (
                findings.filter(resource__arn=arn)
                if arn
                else findings.filter(resource=None, account__aws_account_id=account)
            )
            found = findings.values_list("pk", flat=True).first()
            if found is None or not (arn or account):
                target = arn or account or "(no resource or account given)"
                problems.add(path, f"no finding of check {check!r} on {target} in this organisation")
                return None
            data["finding"] = found
        else:
            data["check_id"] = check
            if arn:
                pks = resolve(live_resources(organization=organization), [arn], join(path, "resource"), problems)
                if pks is MISSING:
                    return None
                data["resource"] = pks[0]
            if account:
                problems.add(join(path, "account"), "only a suppression of one finding names an account")
                return None
        form = SuppressionSpecForm(data=data, instance=instance, organization=organization)
        if not form.is_valid():
            form_problems(form, path, problems, names={"check_id": "check", "finding": "check"})
            return None
        cleaned = form.cleaned_data
        state: dict[str, Any] = {"scope": scope}
        for name, value in (("check", check), ("resource", arn), ("account", account)):
            if value:
                state[name] = value
        state["reason"], state["expires_at"] = cleaned["reason"], encode(cleaned["expires_at"])
        key = self.key(state)
        if instance is not None and key != self.key(self.state(instance)):
            problems.add(path, "what a suppression covers cannot change: lift it and add another")
            return None

        def save() -> Suppression:
            if instance is None:
                return suppression_create(
                    organization=organization,
                    scope=scope,
                    check_id=cleaned.get("check_id") or "",
                    resource=cleaned.get("resource"),
                    finding=cleaned.get("finding"),
                    reason=cleaned["reason"],
                    expires_at=cleaned["expires_at"],
                )[0]
            suppression_update(suppression=instance, reason=cleaned["reason"], expires_at=cleaned["expires_at"])
            return instance

        return Prepared(key, state, save)

    def delete(self, obj: Suppression) -> None:
        suppression_lift(suppression=obj)

    def json_schema(self) -> dict[str, Any]:
        return _object_schema(
            {
                "scope": {"type": "string", "enum": list(Suppression.Scope.values)},
                "check": {"type": "string", "maxLength": 80, "description": "a check id (scope check or finding)"},
                "resource": {"type": "string", "maxLength": 2048, "description": "an ARN (scope resource or finding)"},
                "account": {"type": "string", "maxLength": 12, "description": "the AWS account of an account finding"},
                "reason": {"type": "string", "maxLength": 1000},
                "expires_at": {"type": "string", "format": "date-time", "nullable": True},
            },
            ["scope", "reason"],
        )


# --- digests --------------------------------------------------------------------------------------


class DigestSection(Section):
    """Members' e-mail digests, named by the member's address."""

    key_field = "member"
    document_key = "digests"
    label = "digest"
    audit_name = "digest_subscription"

    def objects(self, organization: Organization) -> list[DigestSubscription]:
        return sorted(
            DigestSubscription.objects.filter(organization=organization).select_related("user"),
            key=lambda s: s.user.email.lower(),
        )

    def fields(self) -> list[str]:
        return ["member", *DigestSubscriptionForm.Meta.fields]

    def key(self, state: Mapping[str, Any]) -> str:
        return str(state.get("member", "")).lower()

    def state(self, obj: DigestSubscription) -> dict[str, Any]:
        return {"member": obj.user.email.lower(), "frequency": obj.frequency, "hour": obj.hour}

    def prepare(
        self,
        organization: Organization,
        item: dict[str, Any],
        path: str,
        instance: DigestSubscription | None,
        problems: Problems,
        env: Mapping[str, str] | None,
    ) -> Prepared | None:
        before = len(problems)
        unknown_keys(item, self.fields(), path, problems)
        probe = DigestSubscriptionForm()
        data = {
            name: form_value(probe.fields[name], item.get(name), join(path, name), problems)
            for name in DigestSubscriptionForm.Meta.fields
        }
        email = form_value(forms.EmailField(), item.get("member"), join(path, "member"), problems)
        email = email.strip().lower() if isinstance(email, str) else ""
        membership = (
            Membership.objects.filter(organization=organization, user__email__iexact=email)
            .select_related("user")
            .first()
        )
        if membership is None:
            problems.add(join(path, "member"), f"{email!r} is not a member of this organisation")
        if MISSING in data.values():
            return None
        form = DigestSubscriptionForm(data=data, instance=instance)
        if not form.is_valid():
            form_problems(form, path, problems)
        if len(problems) > before or membership is None:
            return None
        frequency, hour = form.cleaned_data["frequency"], form.cleaned_data["hour"]

        def save() -> DigestSubscription:
            return digest_subscription_set(
                organization=organization, user=membership.user, frequency=frequency, hour=hour
            )

        return Prepared(email, {"member": email, "frequency": frequency, "hour": hour}, save)

    def delete(self, obj: DigestSubscription) -> None:
        digest_subscription_delete(subscription=obj)


def _object_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


# In the order a document is applied: what rules name comes before the rules.
SECTIONS: list[Section] = [ProjectSection(), ChannelSection(), RuleSection(), SuppressionSection(), DigestSection()]
BY_KEY = {s.document_key: s for s in SECTIONS}
