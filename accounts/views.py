"""Account pages: profile, API keys, wallets, and wallet sign-in (htmx for the interactive parts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import record_authentication
from allauth.account.utils import perform_login
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.errors import AccountsError
from accounts.forms import (
    ApiKeyCreateForm,
    IntegrationCreateForm,
    ProfileForm,
    SiweChallengeForm,
    SiweForm,
)
from accounts.http import (
    authenticated_user,
    reauthentication_url,
    recently_authenticated,
    siwe_challenge,
    siwe_context,
)
from accounts.models import INTEGRATION_HEADER, SiweNonce
from core.api import error_body
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest


def _in_person(page: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Changes to credentials (API keys, wallets) need a login or re-authentication in the last
    ACCOUNT_REAUTHENTICATION_TIMEOUT seconds. allauth's machinery asks for the password (or the MFA
    code) and then replays the suspended POST; an htmx request is sent to that page whole (htmx
    would swap the page into the fragment), coming back to `page`. GET passes."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        guarded = reauthentication_required(
            view, allow_get=True, enabled=lambda request: not recently_authenticated(request)
        )

        @wraps(view)
        def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "GET" and request.htmx and not recently_authenticated(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = reauthentication_url(request, next_url=reverse(page))
                return response
            return guarded(request, *args, **kwargs)  # type: ignore[no-any-return]

        return wrapper

    return decorator


def _in_person_context(request: HttpRequest, page: str) -> dict[str, Any]:
    return {
        "recently_authenticated": recently_authenticated(request),
        "reauthenticate_url": reauthentication_url(request, next_url=reverse(page)),
    }


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = authenticated_user(request)
    form = ProfileForm(request.POST or None, initial={"display_name": user.display_name})
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(user=user, display_name=form.cleaned_data["display_name"])
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "wallet_count": selectors.wallet_list(user=user).count(),
            "key_count": selectors.api_key_list(user=user).count(),
        },
    )


def _api_keys_page(
    request: HtmxHttpRequest,
    *,
    form: ApiKeyCreateForm,
    created_secret: str | None = None,
    status: int = 200,
    integration_form: IntegrationCreateForm | None = None,
) -> HttpResponse:
    template = "accounts/api_keys.html"
    if request.htmx:
        template += "#keys-section"
    context = {
        "form": form,
        "created_secret": created_secret,
        "keys": selectors.api_key_list(user=authenticated_user(request)),
        **_integrations_context(request, integration_form or IntegrationCreateForm()),
        **_in_person_context(request, "accounts:api-keys"),
    }
    return render(request, template, context, status=status)


def _integrations_context(request: HttpRequest, form: IntegrationCreateForm) -> dict[str, Any]:
    return {
        "integration_form": form,
        "integrations": selectors.integration_list(user=authenticated_user(request)),
        "integration_header": INTEGRATION_HEADER,
    }


@login_required
@require_POST
def integration_create(request: HtmxHttpRequest) -> HttpResponse:
    """Register an integration (the section under the API keys). Not a credential: its id is
    public, so no re-authentication is asked."""
    form = IntegrationCreateForm(request.POST)
    if form.is_valid():
        try:
            integration = services.integration_create(user=authenticated_user(request), **form.cleaned_data)
        except AccountsError as exc:
            service_error_to_form(form, exc, default_field="name")
        else:
            messages.success(request, f"Integration “{integration.name}” registered.")
            if not request.htmx:
                return redirect("accounts:api-keys")
            form = IntegrationCreateForm()
    if not request.htmx:
        return _api_keys_page(request, form=ApiKeyCreateForm(), status=422, integration_form=form)
    context = _integrations_context(request, form)
    return render(request, "accounts/api_keys.html#integrations-section", context)


@login_required
@require_http_methods(["GET", "POST"])
@_in_person("accounts:api-keys")
def api_keys(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _api_keys_page(request, form=ApiKeyCreateForm())
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return _api_keys_page(request, form=form, status=422 if not request.htmx else 200)
    created = services.api_key_create(user=authenticated_user(request), **form.cleaned_data)
    return _api_keys_page(request, form=ApiKeyCreateForm(), created_secret=created.secret)


@login_required
@require_POST
@_in_person("accounts:api-keys")
def api_key_revoke(request: HtmxHttpRequest, key_id: int) -> HttpResponse:
    try:
        key = services.api_key_revoke(user=authenticated_user(request), key_id=key_id)
    except AccountsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Key “{key.name}” revoked. Programs using it are now refused.")
    if request.htmx:
        return _api_keys_page(request, form=ApiKeyCreateForm())
    return redirect("accounts:api-keys")


@login_required
@require_GET
def wallets(request: HtmxHttpRequest) -> HttpResponse:
    template = "accounts/wallets.html#wallet-list" if request.htmx else "accounts/wallets.html"
    context = {
        "wallets": selectors.wallet_list(user=authenticated_user(request)),
        **_in_person_context(request, "accounts:wallets"),
    }
    return render(request, template, context)


@login_required
@require_POST
@_in_person("accounts:wallets")
def wallet_unlink(request: HtmxHttpRequest, wallet_id: int) -> HttpResponse:
    try:
        services.wallet_unlink(user=authenticated_user(request), wallet_id=wallet_id)
    except AccountsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Wallet unlinked.")
    if request.htmx:
        context = {
            "wallets": selectors.wallet_list(user=authenticated_user(request)),
            **_in_person_context(request, "accounts:wallets"),
        }
        return render(request, "accounts/wallets.html#wallet-list", context)
    return redirect("accounts:wallets")


@require_GET
def wallet_login_page(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/wallet_login.html")


def _json_error(*, code: str, message: str, detail: dict[str, Any], status: int) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message, detail=detail), status=status)


@require_GET
def wallet_login_nonce(request: HttpRequest) -> JsonResponse:
    form = SiweChallengeForm(request.GET)
    if not form.is_valid():
        return _json_error(
            code="validation_error",
            message="Give the wallet address.",
            detail=form.errors_as_json(),
            status=400,
        )
    nonce = services.siwe_nonce_create(purpose=SiweNonce.Purpose.LOGIN)
    try:
        challenge = siwe_challenge(
            request, nonce, address=form.cleaned_data["address"], chain_id=form.cleaned_data["chain_id"]
        )
    except ValueError as exc:  # e.g. a mixed-case address with a wrong EIP-55 checksum
        return _json_error(
            code="validation_error", message=str(exc), detail={"address": [str(exc)]}, status=400
        )
    for field in ("issued_at", "expiration_time"):
        challenge[field] = challenge[field].isoformat().replace("+00:00", "Z")
    response = JsonResponse(challenge)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def wallet_login(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    form = SiweForm(body if isinstance(body, dict) else {})
    if not form.is_valid():
        return _json_error(
            code="validation_error",
            message="Send the signed message and its signature.",
            detail=form.errors_as_json(),
            status=400,
        )
    try:
        user = services.wallet_login(context=siwe_context(request), **form.cleaned_data)
    except AccountsError as exc:
        return _json_error(code=exc.code, message=exc.message, detail=exc.detail, status=exc.status_code)
    # The signature stands in for the password only: allauth's login stages run next, so someone
    # with two-factor authentication is sent to enter a TOTP or recovery code, and the session is
    # only logged in once that is done (a wallet alone must not be a way around MFA).
    record_authentication(request, user, method="siwe")
    response = perform_login(request, user, redirect_url=reverse("home"))
    if request.user.is_authenticated:
        return JsonResponse({"redirect": response.get("Location") or reverse("home")})
    # Not logged in yet: the next stage (the two-factor code) is at the redirect.
    return JsonResponse({"redirect": response.get("Location") or reverse("account_login"), "pending": True})
