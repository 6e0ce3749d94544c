"""POST /webhooks/stripe/: verify, store, answer. Processing happens after the commit, in a task."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.api import error_body
from tokenomics.errors import TokenomicsError
from tokenomics.services.stripe_events import stripe_webhook_receive


@csrf_exempt  # Stripe cannot send a CSRF token; the signature is the authentication
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """200 once the event is stored (a repeat delivery too, so Stripe stops retrying it); 400 with
    the error envelope, storing nothing, for a bad signature or body; 405 for anything but POST."""
    if request.method != "POST":
        response = JsonResponse(
            error_body(code="method_not_allowed", message="This method is not allowed here."), status=405
        )
        response["Allow"] = "POST"
        return response
    try:
        # The raw bytes, before any parsing: the signature covers them exactly.
        received = stripe_webhook_receive(
            payload=request.body, signature_header=request.headers.get("Stripe-Signature")
        )
    except TokenomicsError as exc:
        return JsonResponse(
            error_body(code=exc.code, message=exc.message, detail=exc.detail), status=exc.status_code
        )
    return JsonResponse(
        {"received": True, "event": received.event.event_id, "duplicate": not received.created}
    )
