"""The /stake/ page: the holder's stake and tier, the tier ladder, staking and unstaking with a
review step before any AGR moves, the unbonding list with the time left, and the slashes of the
holder's stake with their evidence."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import authenticated_user
from core.exceptions import ApplicationError
from tokenomics.forms import StakeForm
from tokenomics.money import AmountError, format_amount, parse_amount
from tokenomics.selectors.staking import position, slashes_for_user, tier_for, tier_rules
from tokenomics.services.staking import stake_deposit, unstake_start

AGR_DECIMALS = 18


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user = authenticated_user(request)
    found = position(user, now=timezone.now())
    rules = tier_rules()
    return {
        "position": found,
        "ladder": [
            {"rule": rule, "current": found.tier is not None and found.tier.tier == rule.tier}
            for rule in rules
        ],
        "remaining": found.next_tier.minimum - found.bonded if found.next_tier else None,
        "wallet_agr": _wallet_agr(user),
        "slashes": slashes_for_user(user),
        **extra,
    }


def _wallet_agr(user: Any) -> int:
    from tokenomics.selectors.ledger import user_balances

    return next((b.wallet for b in user_balances(user=user) if b.asset == "AGR"), 0)


@login_required
@require_http_methods(["GET", "POST"])
def stake_page(request: HttpRequest) -> HttpResponse:
    """GET: the page. POST: the review step (nothing moves): the amount and the tier it leads to."""
    context = _context(request)
    if request.method == "GET":
        return render(request, "tokenomics/stake.html", context | {"form": _stake_form(context)})
    form = _stake_form(context, data=request.POST)
    context |= {"form": form, "action": form.chosen_action()}
    if not form.is_valid():
        return render(request, "tokenomics/stake.html", context, status=400)
    bonded_after = form.cleaned_data["bonded_after"]
    review = {
        "amount": form.cleaned_data["amount"],
        "amount_text": request.POST.get("amount", ""),
        "tier_after": tier_for(bonded_after),
        "bonded_after": bonded_after,
    }
    return render(request, "tokenomics/stake.html", context | {"review": review})


def _stake_form(context: dict[str, Any], data: Any = None) -> StakeForm:
    return StakeForm(data, wallet=context["wallet_agr"], bonded=context["position"].bonded)


@login_required
@require_POST
def stake_confirm(request: HttpRequest) -> HttpResponse:
    """The confirmed step: the AGR moves (once per form, by its key)."""
    user = authenticated_user(request)
    action = request.POST.get("action", "")
    key = request.POST.get("key", "") or uuid.uuid4().hex
    try:
        amount = parse_amount(request.POST.get("amount", ""), decimals=AGR_DECIMALS, unit="AGR")
        if action == "stake":
            stake_deposit(user=user, amount=amount, idempotency_key=key)
            messages.success(request, f"Staked {format_amount(amount=amount, asset='AGR')}.")
        elif action == "unstake":
            row = unstake_start(user=user, amount=amount, idempotency_key=key)
            messages.success(
                request,
                f"Unstaking {format_amount(amount=amount, asset='AGR')}: it returns to your wallet on "
                f"{timezone.localtime(row.release_at):%d %b %Y at %H:%M} UTC.",
            )
    except (AmountError, ApplicationError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    return redirect("tokenomics:stake")
