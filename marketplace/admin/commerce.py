"""Staff views of commerce. Orders, licenses and subscriptions are written only by the services
(they move money), so they are read-only here; disputes are resolved through a form that calls
marketplace.services.refunds.dispute_resolve, which moves the money and records who decided."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from core.exceptions import ApplicationError
from marketplace.models import Dispute, DisputeStatus, License, Order, Subscription
from marketplace.services.refunds import dispute_resolve
from tokenomics.admin import ReadOnlyAdminMixin
from tokenomics.money import format_amount


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
    outcome = forms.ChoiceField(
        choices=[(s.value, s.label) for s in DisputeStatus if s != DisputeStatus.OPEN],
        widget=forms.RadioSelect,
    )
    refund_amount = forms.IntegerField(
        required=False,
        min_value=1,
        help_text="Partial refunds only, in minor units of the order's asset (US cents or AGR base units).",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), help_text="Recorded with the decision.")


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Dispute]):
    list_display = ("id", "order", "buyer", "reason", "status", "created_at", "resolved_at")
    list_filter = ("status",)
    search_fields = ("buyer__email", "reason", "=order__id")
    list_select_related = ("order", "buyer")
    change_form_template = "admin/marketplace/dispute/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        resolve = path(
            "<int:dispute_id>/resolve/",
            self.admin_site.admin_view(self.resolve_view),
            name="marketplace_dispute_resolve",
        )
        return [resolve, *super().get_urls()]

    def resolve_view(self, request: HttpRequest, dispute_id: int) -> HttpResponse:
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        dispute = get_object_or_404(
            Dispute.objects.select_related("order", "order__listing", "buyer"), pk=dispute_id
        )
        form = DisputeResolveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                dispute_resolve(
                    staff_user=request.user,
                    dispute_id=dispute.pk,
                    outcome=form.cleaned_data["outcome"],
                    refund_amount=form.cleaned_data.get("refund_amount"),
                    note=form.cleaned_data["note"],
                )
            except ApplicationError as exc:
                for field, errors in exc.detail.items():
                    if field in form.fields and isinstance(errors, list):
                        form.add_error(field, errors)
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Dispute {dispute.pk} resolved.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:marketplace_dispute_change", args=[dispute.pk]))
        order = dispute.order
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": f"Resolve dispute {dispute.pk}",
            "dispute": dispute,
            "order": order,
            "total": format_amount(amount=int(order.total), asset=order.asset),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/marketplace/dispute/resolve.html", context)
