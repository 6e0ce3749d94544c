"""Licenses: reveal a key once, check one, and count a download against the limit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.artefacts import artefact_check
from marketplace.errors import DownloadLimitReached, InvalidState, LicenseRequired, NotFound
from marketplace.models import (
    License,
    LicenseDownload,
    ListingVersion,
    Order,
    Subscription,
    SubscriptionStatus,
)
from marketplace.selectors.catalog import latest_downloadable_version
from marketplace.services.orders import LICENSE_KEY_PREFIX, order_release


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    license: License
    key: str  # shown to the buyer once; only its hash is kept


def license_key_issue(*, buyer: User, license_id: int) -> IssuedKey:
    """Make a new key for the buyer's license and return it (once); an earlier key stops working.
    Raises NotFound (not the buyer's), InvalidState (revoked)."""
    key = LICENSE_KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic(durable=True):
        lic = License.objects.select_for_update().filter(pk=license_id, buyer=buyer).first()
        if lic is None:
            raise NotFound("No such license.")
        if lic.revoked_at is not None:
            raise InvalidState("This license was revoked (the order was refunded).")
        lic.key_prefix = key[: len(LICENSE_KEY_PREFIX) + 8]
        lic.key_hash = _hash(key)
        lic.save(update_fields=["key_prefix", "key_hash", "updated_at"])
    return IssuedKey(license=lic, key=key)


def license_check(*, key: str) -> License:
    """The valid license a key belongs to. Raises LicenseRequired for an unknown or revoked key."""
    lic = License.objects.select_related("listing", "version").filter(key_hash=_hash(key)).first()
    if lic is None or lic.revoked_at is not None:
        raise LicenseRequired("This license key is not valid.")
    return lic


def license_download(*, buyer: User, license_id: int, at: datetime | None = None) -> ListingVersion:
    """Count one download of the buyer's license and return the version to stream. The first
    download releases the order's escrow to the creator (the refund window closes with it), dated
    `at` (default now; demo history passes a past moment).
    Raises NotFound, LicenseRequired (revoked), DownloadLimitReached, ArtefactUnreadable (nothing
    counted)."""
    lic = License.objects.filter(pk=license_id, buyer=buyer).select_related("version").first()
    if lic is None:
        raise NotFound("No such license.")
    # An unreadable file must not use up a download nor release the escrow. Checked before any row
    # is locked: reading the store (S3 in production) inside the lock would hold it for a round trip.
    # A license's version never changes, so the file checked is the file served.
    artefact_check(path=str(lic.version.artefact.name), wrapped_key=lic.version.wrapped_key)
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update().get(pk=lic.order_id)
        lic = License.objects.select_for_update(of=("self",)).select_related("version").get(pk=license_id)
        if lic.revoked_at is not None:
            raise LicenseRequired("This license was revoked (the order was refunded).")
        if lic.downloads_used >= lic.download_limit:
            raise DownloadLimitReached(
                f"This license has used all {lic.download_limit} of its downloads.",
                detail={"download_limit": lic.download_limit},
            )
        lic.downloads_used += 1
        lic.save(update_fields=["downloads_used", "updated_at"])
        LicenseDownload.objects.create(license=lic, version=lic.version, user=buyer)
        order_release(order_id=order.pk, at=at)
        return lic.version


def subscription_download(*, buyer: User, subscription_id: int) -> ListingVersion:
    """Count a subscriber's download of the listing's newest version (updates while active).
    Raises NotFound, LicenseRequired (not active), InvalidState (nothing to download yet)."""
    sub = Subscription.objects.select_related("listing").filter(pk=subscription_id, buyer=buyer).first()
    if sub is None:
        raise NotFound("No such subscription.")
    if sub.status != SubscriptionStatus.ACTIVE or (
        sub.current_period_end is not None and sub.current_period_end <= timezone.now()
    ):
        raise LicenseRequired("Downloads come with an active subscription.")
    version = latest_downloadable_version(listing=sub.listing)
    if version is None:
        raise InvalidState("This model has no downloadable version yet.")
    artefact_check(path=str(version.artefact.name), wrapped_key=version.wrapped_key)
    LicenseDownload.objects.create(subscription=sub, version=version, user=buyer)
    return version
