"""Give a test client's session allauth's record of a (re-)authentication, as a real login does.

Django's `force_login` skips allauth's login flow, so it leaves no record of when the person last
authenticated; views that need a recent authentication (accounts.http.recently_authenticated)
read exactly these session keys.
"""

from __future__ import annotations

import time

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)


def login_recently(client, user, *, seconds_ago: float = 0) -> None:
    """Log `client` in as `user`, as if by password `seconds_ago` seconds ago."""
    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [{"method": "password", "at": time.time() - seconds_ago}]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()
