from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _record_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every completed login is a fresh authentication, signup's included (allauth records only
    the password and MFA steps, not a login that follows email verification), so
    `accounts.http.recently_authenticated` can count it."""
    from allauth.account.internal.flows.login import record_authentication

    if request is not None and hasattr(request, "session"):
        record_authentication(request, user, method="login")


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        # drf-spectacular finds our authentication schemes through these extensions.
        from accounts import schema  # noqa: F401

        # Auth bookkeeping, not domain flow: the one signal Django offers at the end of every login.
        user_logged_in.connect(_record_login, dispatch_uid="accounts.record_login")
