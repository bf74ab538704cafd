"""Writes for organisations and memberships. Keyword arguments, typed, atomic."""

from __future__ import annotations

import secrets

from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from .models import Membership, Organization, Role


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User, time_zone: str = "UTC") -> Organization:
    name = name.strip()
    if not name:
        raise ValueError("An organisation needs a name.")
    org = Organization.objects.create(name=name, slug=_unique_slug(name), time_zone=time_zone)
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    return org


def default_organization_name(email: str) -> str:
    local, _, domain = email.partition("@")
    company = domain.split(".")[0] if domain else local
    return company.capitalize() or "My organisation"


@transaction.atomic
def user_create_verified(*, email: str, password: str) -> User:
    """Create a user whose email counts as verified (created by an operator, not by sign-up)."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValueError(f"A user with email {email} already exists.")
    user = User.objects.create_user(username=email[:150], email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user
