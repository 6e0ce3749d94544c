"""Batch jobs (SPEC §6): many inputs for one listing, quoted before they start, run by Celery
workers through the metered gateway, with progress, streamed results, cancel and a signed
completion webhook.

Money: nothing here bills. Every item is one `compute.services.gateway.inference_run` call
(`via="batch"`, the item's own request id, the registry's batch discount on the creator's price),
so an item is entitled, drawn, logged and settled exactly as any call: charged once when it
succeeds (its request id is the request-log row's unique key) and never when it fails. The quote
is computed by the same pricing functions (`compute.billing`), so it is what the items cost while
the buyer's volume tier holds.

Memory: items are rows written in chunks as the upload is read; a worker claims one row at a time
(`SELECT … FOR UPDATE SKIP LOCKED`) and writes its result back; results stream out of the rows.
Concurrency: the job is worked by at most `batch.concurrency_per_node` x (healthy nodes serving
the version, at least one) workers at once.

A claimed item carries a lease; an item whose worker died is claimed again after it, with the same
request id, so the gateway logs and bills it once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from compute import meter_store
from compute.billing import MICRO_PER_CENT, batch_price_micro, per_call_price_micro
from compute.errors import ComputeError, UrlRefused
from compute.models_batch import BatchItem, BatchJob, BatchState, ItemState, WebhookState
from compute.models_gateway import Entitlement
from compute.services.gateway import VIA_BATCH, GatewayError, inference_run
from compute.url_safety import node_url_check
from core.enqueue import task_send, task_send_after
from tokenomics.models import Asset
from tokenomics.models.ledger import AccountKind
from tokenomics.selectors.parameters import parameters_get
from tokenomics.services.ledger_accounts import user_account_get_or_create

logger = logging.getLogger(__name__)

CHUNK = 500
LEASE_SECONDS = 300
WEBHOOK_TIMEOUT_S = 10


class BatchInvalid(ComputeError):
    code = "validation_error"
    status_code = 400
    default_message = "The batch could not be read."


class BatchTooLarge(ComputeError):
    code = "batch_too_large"
    status_code = 413
    default_message = "The batch is larger than allowed."


class BatchNotFound(ComputeError):
    code = "not_found"
    status_code = 404
    default_message = "No such batch job."


class BatchNotRunning(ComputeError):
    code = "invalid_state"
    status_code = 409
    default_message = "This batch job has already ended."


class BatchUnaffordable(ComputeError):
    """Neither the subscription's quota left nor the prepaid balance covers the quote."""

    code = "license_required"
    status_code = 402
    default_message = "Your quota or prepaid balance cannot pay for this batch."


def batch_limits() -> dict[str, int]:
    return parameters_get(
        [
            "batch.max_items",
            "batch.max_upload_bytes",
            "batch.concurrency_per_node",
            "batch.webhook_max_attempts",
            "discount.batch_bps",
        ]
    )


# --------------------------------------------------------------------------- the quote


@dataclass(frozen=True)
class Quote:
    items: int
    entitlement: str  # subscription (quota) or prepaid (credit)
    item_price_micro: int  # what one item costs under that entitlement
    total_micro: int
    batch_discount_bps: int
    quota_left: int | None  # the subscription's calls left (None: unlimited or not a subscription)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "entitlement": self.entitlement,
            "item_price_micro": self.item_price_micro,
            "total_micro": self.total_micro,
            "total_cents": -(-self.total_micro // MICRO_PER_CENT),
            "batch_discount_bps": self.batch_discount_bps,
            "quota_left": self.quota_left,
        }


def _context(listing_slug: str) -> Any:
    from compute.services.gateway_impl import listing_context

    ctx = listing_context(listing_slug)
    if ctx is None:
        raise BatchNotFound("No published model has this name.")
    if ctx.latest is None:
        raise BatchNotFound("This model is not hosted: it has no version that providers serve.")
    return ctx


def _prepaid_available_micro(user: User) -> int:
    wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=Asset.USD)
    reserved = meter_store.credit_left(user.pk) or 0
    return int(wallet.balance) * MICRO_PER_CENT + max(reserved, 0)


def batch_quote(*, user: User, listing_slug: str, items: int) -> Quote:
    """What `items` calls of the listing cost the buyer now, under the entitlement that pays:
    the subscription's quota when it covers them all, else prepaid credit on the per-inference
    plan. Raises BatchNotFound, BatchUnaffordable (402: detail says what is short)."""
    from compute.services.gateway_impl import buyer_context

    if items < 1:
        raise BatchInvalid("A batch has at least one item.", detail={"items": ["Give at least one item."]})
    ctx = _context(listing_slug)
    buyer = buyer_context(user, ctx.id)
    discount = batch_limits()["discount.batch_bps"]
    sub = buyer.subscription
    if sub is not None:
        quota_left = None if sub.monthly_quota is None else max(sub.monthly_quota - sub.quota_used, 0)
        if quota_left is None or quota_left >= items:
            return Quote(items, Entitlement.SUBSCRIPTION, 0, 0, discount, quota_left)
    else:
        quota_left = None
    if ctx.per_inference is None:
        raise BatchUnaffordable(
            "Running a batch of this model needs a subscription with enough quota or a per-inference plan.",
            detail={"reason": "no_plan", "quota_left": quota_left, "items": items},
        )
    creator = per_call_price_micro(
        price_per_1000_cents=ctx.per_inference.price_cents, discount_bps=buyer.discount_bps
    )
    price = (
        batch_price_micro(creator_price_micro=creator, batch_discount_bps=discount) + ctx.compute_fee_micro
    )
    quote = Quote(items, Entitlement.PREPAID, price, price * items, discount, quota_left)
    available = _prepaid_available_micro(user)
    if available < quote.total_micro:
        raise BatchUnaffordable(
            "Your prepaid balance cannot pay for this batch; add credit or split it.",
            detail={"reason": "insufficient_credit", "quote": quote.as_dict(), "available_micro": available},
        )
    return quote


# --------------------------------------------------------------------------- creating a job


def jsonl_items(lines: Iterable[bytes | str], *, max_bytes: int) -> Iterator[Any]:
    """Items of a JSON Lines upload, one at a time (blank lines skipped); BatchInvalid names the
    first line that is not JSON, BatchTooLarge when the bytes read pass `max_bytes`."""
    read = 0
    for number, raw in enumerate(lines, start=1):
        read += len(raw)
        if read > max_bytes:
            raise BatchTooLarge("The file is larger than allowed.", detail={"max_upload_bytes": max_bytes})
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            yield json.loads(text)
        except ValueError as exc:
            raise BatchInvalid(
                f"Line {number} is not JSON.", detail={"file": [f"Line {number}: {exc}"]}
            ) from exc


def _item_body(item: Any, position: int, version: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("inputs"), list) or not item["inputs"]:
        raise BatchInvalid(
            f"Item {position} is not a KServe v2 request.",
            detail={"items": [f"Item {position}: an object with a non-empty `inputs` list."]},
        )
    body: dict[str, Any] = {"inputs": item["inputs"]}
    if "outputs" in item:
        body["outputs"] = item["outputs"]
    if version:
        body["version"] = version
    return body


def webhook_secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def batch_create(
    *,
    user: User,
    listing_slug: str,
    items: Iterable[Any],
    version: str = "",
    webhook_url: str = "",
) -> BatchJob:
    """Store the items (in chunks, as they are read), quote the job and start it. Nothing is
    stored when the items are invalid or the quote cannot be paid. Raises BatchNotFound,
    BatchInvalid (also a webhook URL our servers may not call), BatchTooLarge, BatchUnaffordable."""
    limits = batch_limits()
    ctx = _context(listing_slug)
    if version and version not in ctx.versions:
        raise BatchInvalid(
            "No hosted version of this model has that version number.",
            detail={"version": [f"Choose one of {', '.join(sorted(ctx.versions)) or 'none'}."]},
        )
    try:
        url = node_url_check(webhook_url) if webhook_url else ""
    except UrlRefused as exc:
        raise BatchInvalid(str(exc), detail={"webhook_url": [str(exc)]}) from exc
    with transaction.atomic():
        job = BatchJob.objects.create(
            user=user,
            listing_id=ctx.id,
            version=version,
            entitlement="",
            webhook_url=url,
            webhook_secret=webhook_secret_new() if url else "",
            webhook_state=WebhookState.PENDING if url else WebhookState.NONE,
        )
        count = 0
        chunk: list[BatchItem] = []
        for item in items:
            if count >= limits["batch.max_items"]:
                raise BatchTooLarge(
                    "The batch has more items than allowed.", detail={"max_items": limits["batch.max_items"]}
                )
            chunk.append(
                BatchItem(
                    job=job, index=count, request_id=uuid.uuid4(), body=_item_body(item, count, version)
                )
            )
            count += 1
            if len(chunk) >= CHUNK:
                BatchItem.objects.bulk_create(chunk)
                chunk = []
        BatchItem.objects.bulk_create(chunk)
        quote = batch_quote(user=user, listing_slug=listing_slug, items=count)
        job.total = count
        job.entitlement = quote.entitlement
        job.item_price_micro = quote.item_price_micro
        job.batch_discount_bps = quote.batch_discount_bps
        job.save(
            update_fields=["total", "entitlement", "item_price_micro", "batch_discount_bps", "updated_at"]
        )
        job_id = job.pk
        transaction.on_commit(lambda: _start(job_id))
    return job


def _start(job_id: int) -> None:
    for _ in range(batch_workers(job_id)):
        task_send("compute.batch_work", job_id)


def batch_workers(job_id: int) -> int:
    """How many workers the job gets: per node x healthy nodes serving its version (at least one
    node's worth), never more than its items left."""
    from compute.services.gateway_impl import listing_context
    from compute.services.routing import candidates

    job = BatchJob.objects.select_related("listing").get(pk=job_id)
    ctx = listing_context(job.listing.slug)
    nodes = 1
    if ctx is not None:
        version = ctx.versions.get(job.version) if job.version else ctx.latest
        if version is not None:
            nodes = max(len(candidates(version.pk)), 1)
    per_node = batch_limits()["batch.concurrency_per_node"]
    return max(min(per_node * nodes, job.remaining), 0)


# --------------------------------------------------------------------------- working a job


def batch_item_claim(job_id: int, *, now: datetime | None = None) -> BatchItem | None:
    """Claim the job's next item (a pending one, or one whose worker's lease ran out) for this
    worker; None when none is left or the job has ended."""
    now = now or timezone.now()
    with transaction.atomic():
        if not BatchJob.objects.filter(pk=job_id, state=BatchState.RUNNING).exists():
            return None
        item = (
            BatchItem.objects.select_for_update(skip_locked=True)
            .filter(job_id=job_id)
            .filter(Q(state=ItemState.PENDING) | Q(state=ItemState.RUNNING, leased_until__lt=now))
            .order_by("index")
            .first()
        )
        if item is None:
            return None
        item.state = ItemState.RUNNING
        item.leased_until = now + timedelta(seconds=LEASE_SECONDS)
        item.save(update_fields=["state", "leased_until"])
        return item


def _finish(
    item: BatchItem, *, ok: bool, outputs: Any = None, charge_micro: int = 0, code: str = "", error: str = ""
) -> bool:
    """Move a running item to done or failed and count it on its job, once (a second finish of
    the same item changes nothing)."""
    with transaction.atomic():
        moved = BatchItem.objects.filter(pk=item.pk, state=ItemState.RUNNING).update(
            state=ItemState.DONE if ok else ItemState.FAILED,
            outputs=outputs if ok else None,
            charge_micro=charge_micro if ok else 0,
            error_code="" if ok else code[:40],
            error="" if ok else error[:300],
            leased_until=None,
        )
        if not moved:
            return False
        if ok:
            BatchJob.objects.filter(pk=item.job_id).update(
                done=F("done") + 1, spend_micro=F("spend_micro") + charge_micro
            )
        else:
            BatchJob.objects.filter(pk=item.job_id).update(failed=F("failed") + 1)
    return True


def batch_item_run(job: BatchJob, item: BatchItem) -> bool:
    """Run one claimed item through the gateway and record what happened; True when it was done."""
    try:
        result = inference_run(
            user=job.user,
            listing_slug=job.listing.slug,
            body=item.body,
            via=VIA_BATCH,
            request_id=str(item.request_id),
            batch_discount_bps=job.batch_discount_bps,
        )
    except GatewayError as exc:
        _finish(item, ok=False, code=exc.code, error=str(exc))
        return False
    _finish(item, ok=True, outputs=result.outputs, charge_micro=result.charge_micro)
    return True


def batch_work(job_id: int) -> int:
    """One worker: claim and run items until none is left or the job is canceled; then end the
    job if it is complete. Returns the items this worker ran."""
    job = BatchJob.objects.select_related("user", "listing").get(pk=job_id)
    ran = 0
    while (item := batch_item_claim(job_id)) is not None:
        batch_item_run(job, item)
        ran += 1
    batch_job_finish_if_complete(job_id)
    return ran


def batch_job_finish_if_complete(job_id: int) -> bool:
    """End the job once every item is done, failed or canceled (once), and send its webhook."""
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().get(pk=job_id)
        if job.finished_at is not None or job.remaining > 0:
            return False
        job.finished_at = timezone.now()
        if job.state == BatchState.RUNNING:
            job.state = BatchState.DONE
        job.save(update_fields=["finished_at", "state", "updated_at"])
        if job.webhook_state == WebhookState.PENDING:
            transaction.on_commit(lambda: _webhook_enqueue(job_id))
    return True


def batch_job_cancel(*, user: User, job_id: int) -> BatchJob:
    """Cancel a running job: items not yet claimed are canceled (never run, never charged); items
    already running finish and count. Raises BatchNotFound, BatchNotRunning."""
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().filter(pk=job_id, user=user).first()
        if job is None:
            raise BatchNotFound()
        if job.state != BatchState.RUNNING:
            raise BatchNotRunning(detail={"state": job.state})
        canceled = BatchItem.objects.filter(job=job, state=ItemState.PENDING).update(state=ItemState.CANCELED)
        job.state = BatchState.CANCELED
        job.canceled = F("canceled") + canceled
        job.save(update_fields=["state", "canceled", "updated_at"])
    batch_job_finish_if_complete(job_id)
    job.refresh_from_db()
    return job


# --------------------------------------------------------------------------- the webhook


def webhook_sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header of Standard Webhooks: `v1,` + base64 HMAC-SHA256, keyed by
    the secret's bytes, of `{msg_id}.{timestamp}.{body}`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_payload(job: BatchJob) -> dict[str, Any]:
    return {
        "type": "batch_job.completed",
        "timestamp": (job.finished_at or timezone.now()).isoformat(),
        "data": {
            "id": job.pk,
            "state": job.state,
            "total": job.total,
            "done": job.done,
            "failed": job.failed,
            "canceled": job.canceled,
            "spend_micro": int(job.spend_micro),
        },
    }


def _webhook_enqueue(job_id: int, *, countdown: int = 0) -> None:
    task_send_after(countdown, "compute.batch_webhook", job_id)


def batch_webhook_deliver(job_id: int) -> bool | None:
    """Try once to deliver the job's completion webhook. True when delivered (or already), None
    when it should be retried later, False when the attempts are used up."""
    import requests

    job = BatchJob.objects.get(pk=job_id)
    if job.webhook_state != WebhookState.PENDING:
        return job.webhook_state == WebhookState.DELIVERED
    body = json.dumps(webhook_payload(job), separators=(",", ":")).encode()
    msg_id = f"msg_batch_{job.pk}"
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(
            secret=job.webhook_secret, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }
    error = ""
    try:
        url = node_url_check(job.webhook_url)
        response = requests.post(
            url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_S, allow_redirects=False
        )
        if 200 <= response.status_code < 300:
            BatchJob.objects.filter(pk=job.pk).update(
                webhook_state=WebhookState.DELIVERED,
                webhook_attempts=F("webhook_attempts") + 1,
                webhook_last_error="",
            )
            return True
        error = f"HTTP {response.status_code}"
    except Exception as exc:  # a refused URL, a connection error, a timeout: retried the same way
        error = f"{type(exc).__name__}: {exc}"
    attempts = job.webhook_attempts + 1
    gave_up = attempts >= batch_limits()["batch.webhook_max_attempts"]
    BatchJob.objects.filter(pk=job.pk).update(
        webhook_attempts=attempts,
        webhook_last_error=error[:300],
        webhook_state=WebhookState.FAILED if gave_up else WebhookState.PENDING,
    )
    logger.info("batch job %s webhook attempt %s failed: %s", job.pk, attempts, error)
    return False if gave_up else None


def webhook_backoff_seconds(attempts: int) -> int:
    """Seconds before the next attempt after `attempts` failed ones: 10 s doubling, at most 1 h."""
    return int(min(10 * 2 ** max(attempts - 1, 0), 3600))


def batch_webhook_run(job_id: int) -> bool | None:
    """Deliver, and schedule the next attempt with backoff when it failed (never blocks a job)."""
    outcome = batch_webhook_deliver(job_id)
    if outcome is None:
        attempts = BatchJob.objects.values_list("webhook_attempts", flat=True).get(pk=job_id)
        _webhook_enqueue(job_id, countdown=webhook_backoff_seconds(attempts))
    return outcome


# --------------------------------------------------------------------------- reads


def batch_job_get(*, user: User, job_id: int) -> BatchJob:
    job = BatchJob.objects.select_related("listing").filter(pk=job_id, user=user).first()
    if job is None:
        raise BatchNotFound()
    return job


def batch_results_lines(job: BatchJob) -> Iterator[bytes]:
    """The job's results as JSON Lines, in item order, read from the rows in chunks (never all
    at once): one line per item with its state, outputs or error, and charge."""
    rows = (
        BatchItem.objects.filter(job=job)
        .order_by("index")
        .values_list("index", "state", "request_id", "outputs", "error_code", "error", "charge_micro")
    )
    for index, state, request_id, outputs, code, error, charge in rows.iterator(chunk_size=CHUNK):
        line: dict[str, Any] = {"index": index, "state": state, "request_id": str(request_id)}
        if state == ItemState.DONE:
            line["outputs"] = outputs
            line["charge_micro"] = int(charge)
        elif state == ItemState.FAILED:
            line["error"] = {"code": code, "message": error}
        yield (json.dumps(line, separators=(",", ":")) + "\n").encode()


def batch_progress(job: BatchJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "listing": job.listing.slug,
        "version": job.version or None,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "canceled": job.canceled,
        "remaining": job.remaining,
        "spend_micro": int(job.spend_micro),
        "quote": {
            "entitlement": job.entitlement,
            "item_price_micro": int(job.item_price_micro),
            "total_micro": int(job.item_price_micro) * job.total,
            "batch_discount_bps": job.batch_discount_bps,
        },
        "webhook": {"url": job.webhook_url, "state": job.webhook_state, "attempts": job.webhook_attempts}
        if job.webhook_url
        else None,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }
