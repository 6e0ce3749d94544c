"""Staff views of commerce. Orders, licenses and subscriptions are written only by the services
(they move money), so they are read-only here; disputes are resolved through a form that calls
marketplace.services.refunds.dispute_resolve, which moves the money and records who decided.

Resolving needs the marketplace.resolve_dispute permission (being staff only opens the admin),
takes a partial refund typed as money ("12.50", not cents), and moves nothing until a second
step has shown exactly what will move and the staff member confirmed it."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.http import authenticated_user
from core.admin import ReadOnlyAdminMixin
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from marketplace.models import Dispute, DisputeStatus, License, Order, Subscription
from marketplace.services.refunds import RESOLVE_DISPUTE_PERMISSION, dispute_resolve
from tokenomics.models import Asset, Rail
from tokenomics.models.escrow import EscrowState
from tokenomics.money import AGR_DECIMALS, USD_DECIMALS, AmountError, format_amount, parse_amount


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Order]):
    list_display = ("id", "listing", "buyer", "kind", "rail", "total_display", "status", "created_at")
    list_filter = ("status", "kind", "rail")
    search_fields = ("=id", "buyer__email", "listing__slug")
    list_select_related = ("listing", "buyer")
    date_hierarchy = "created_at"

    @admin.display(description="Total")
    def total_display(self, order: Order) -> str:
        return format_amount(amount=int(order.total), asset=order.asset)


@admin.register(License)
class LicenseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[License]):
    list_display = (
        "id",
        "listing",
        "version",
        "buyer",
        "key_prefix",
        "downloads_used",
        "download_limit",
        "revoked_at",
    )
    search_fields = ("buyer__email", "listing__slug", "key_prefix")
    exclude = ("key_hash",)
    list_select_related = ("listing", "version", "buyer")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Subscription]):
    list_display = (
        "id",
        "listing",
        "plan",
        "buyer",
        "status",
        "current_period_end",
        "quota_used",
        "auto_renew",
    )
    list_filter = ("status",)
    search_fields = ("buyer__email", "listing__slug")
    list_select_related = ("listing", "plan", "buyer")


class DisputeResolveForm(forms.Form):
    """Step one of resolving: the decision, the partial refund typed as money (dollars and cents,
    or AGR), and the note. `refund_minor` is the amount in minor units the decision refunds."""

    outcome = forms.ChoiceField(
        choices=[(s.value, s.label) for s in DisputeStatus if s != DisputeStatus.OPEN],
        widget=forms.RadioSelect,
    )
    refund = forms.CharField(
        label="Partial refund",
        required=False,
        max_length=48,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), help_text="Recorded with the decision.")

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        usd = order.asset == Asset.USD
        self.decimals, self.unit = (USD_DECIMALS, "US dollars") if usd else (AGR_DECIMALS, "AGR")
        total = format_amount(amount=int(order.total), asset=order.asset)
        self.fields["refund"].help_text = (
            f"Partial refunds only, in {'dollars and cents, e.g. 12.50' if usd else 'AGR, e.g. 12.5'}: "
            f"more than nothing and less than the order total, {total}."
        )
        self.refund_minor = 0

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        outcome, text = data.get("outcome"), (data.get("refund") or "").strip()
        if outcome == DisputeStatus.REFUNDED:
            self.refund_minor = int(self.order.total)
        elif outcome == DisputeStatus.PARTIAL_REFUND:
            if not text:
                self.add_error("refund", "Enter the amount to refund.")
                return data
            try:
                self.refund_minor = parse_amount(text, decimals=self.decimals, unit=self.unit)
            except AmountError as exc:
                self.add_error("refund", str(exc))
                return data
            if self.refund_minor >= int(self.order.total):
                total = format_amount(amount=int(self.order.total), asset=self.order.asset)
                self.add_error("refund", f"A partial refund is less than the order total, {total}.")
        elif outcome == DisputeStatus.RELEASED and text:
            self.add_error("refund", "Leave this empty when the creator keeps the money.")
        return data


def dispute_money_moves(*, order: Order, outcome: str, refund: int) -> list[str]:
    """What resolving with `outcome` and `refund` (minor units) moves, in words, for the
    confirmation step; the same rules as marketplace.services.refunds.dispute_resolve."""
    escrow = order.escrow
    held = escrow is not None and escrow.state == EscrowState.HELD
    money = partial(format_amount, asset=order.asset)
    kept = int(order.total) - refund
    rail = "card" if order.rail == Rail.CARD else "AGR transfer"
    moves = []
    if refund:
        source = "out of escrow" if held else "clawed back from the creator's payable balance"
        moves.append(f"Refund {money(amount=refund)} to the buyer {source}, paid back by {rail}.")
    if kept and held:
        moves.append(f"Release {money(amount=kept)} from escrow to the creator, less the platform fee.")
    elif kept:
        moves.append(f"The creator keeps {money(amount=kept)} already released to them.")
    if refund == int(order.total):
        moves.append("The license is revoked (and a subscription canceled).")
    return moves


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Dispute]):
    list_display = ("id", "order", "buyer", "reason", "status", "created_at", "resolved_by", "resolved_at")
    list_filter = ("status",)
    search_fields = ("buyer__email", "reason", "=order__id")
    list_select_related = ("order", "buyer", "resolved_by")
    change_form_template = "admin/marketplace/dispute/change_form.html"
    exclude = ("evidence_file",)
    readonly_fields = ("evidence_link",)

    def get_urls(self) -> list[URLPattern]:
        resolve = path(
            "<int:dispute_id>/resolve/",
            self.admin_site.admin_view(self.resolve_view),
            name="marketplace_dispute_resolve",
        )
        return [resolve, *super().get_urls()]

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(RESOLVE_DISPUTE_PERMISSION))

    @admin.display(description="Evidence file")
    def evidence_link(self, dispute: Dispute) -> str:
        if not dispute.evidence_file:
            return "—"
        url = reverse("marketplace:dispute_evidence", args=[dispute.pk])
        return format_html('<a href="{}">Download the evidence file</a>', url)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {"can_resolve": self.has_resolve_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    def resolve_view(self, request: HttpRequest, dispute_id: int) -> HttpResponse:
        if not self.has_resolve_permission(request):
            raise PermissionDenied
        dispute = get_object_or_404(
            Dispute.objects.select_related(
                "order", "order__listing", "order__escrow", "buyer", "resolved_by"
            ),
            pk=dispute_id,
        )
        order = dispute.order
        form = DisputeResolveForm(request.POST or None, order=order)
        moves: list[str] = []
        if request.method == "POST" and form.is_valid():
            outcome, refund = form.cleaned_data["outcome"], form.refund_minor
            moves = dispute_money_moves(order=order, outcome=outcome, refund=refund)
            # The first submit only shows what will move; the second, carrying the same amount
            # back as `confirm`, moves it.
            if request.POST.get("confirm") == str(refund):
                try:
                    dispute_resolve(
                        staff_user=authenticated_user(request),
                        dispute_id=dispute.pk,
                        outcome=outcome,
                        refund_amount=refund if outcome == DisputeStatus.PARTIAL_REFUND else None,
                        note=form.cleaned_data["note"],
                    )
                except ApplicationError as exc:
                    service_error_to_form(form, exc, fields={"refund_amount": "refund"}, beside="message")
                    moves = []
                else:
                    self.log_change(request, dispute, f"Resolved: {outcome}, refund {refund} minor units.")
                    self.message_user(request, f"Dispute {dispute.pk} resolved.", messages.SUCCESS)
                    return HttpResponseRedirect(
                        reverse("admin:marketplace_dispute_change", args=[dispute.pk])
                    )
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": f"Resolve dispute {dispute.pk}",
            "dispute": dispute,
            "order": order,
            "total": format_amount(amount=int(order.total), asset=order.asset),
            "form": form,
            "moves": moves,
            "confirm_amount": form.refund_minor if moves else None,
            "evidence_url": reverse("marketplace:dispute_evidence", args=[dispute.pk])
            if dispute.evidence_file
            else "",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/marketplace/dispute/resolve.html", context)
