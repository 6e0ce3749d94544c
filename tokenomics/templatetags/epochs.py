"""What a person received from revenue-distribution epochs, for any dashboard:

    {% load epochs %}{% epoch_shares_panel request.user %}

It renders `tokenomics/_epoch_shares.html` on its own (no view context needed), so the provider
console (compute) shows it without importing the selector.
"""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from tokenomics.selectors.epochs import epoch_shares_for_user

register = template.Library()

SHOWN = 6


@register.inclusion_tag("tokenomics/_epoch_shares.html")
def epoch_shares_panel(user: Any) -> dict[str, Any]:
    """The latest epoch shares of `user` (nothing for an anonymous visitor)."""
    if not isinstance(user, User):
        return {"anonymous": True}
    return {"epoch_shares": epoch_shares_for_user(user=user, limit=SHOWN)}
