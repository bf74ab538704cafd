from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.db import transaction
from django.http import HttpRequest

from .services import default_organization_name, organization_create


class SignupForm(AllauthSignupForm):
    """allauth's sign-up plus the name of the organisation the new user will own."""

    organization_name = forms.CharField(
        label="Organisation",
        max_length=120,
        required=False,
        help_text="Your team or company. Leave empty to name it after your email domain.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization_name"].widget.attrs["placeholder"] = "Acme"

    def save(self, request: HttpRequest) -> Any:
        with transaction.atomic():
            user = super().save(request)
            if user is not None:
                name = self.cleaned_data.get("organization_name") or default_organization_name(user.email)
                organization_create(name=name, owner=user)
        return user
