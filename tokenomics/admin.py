"""Staff views of the money app: look, never touch.

Every row here is written by a service that keeps the ledger's invariants (balanced transactions,
immutable postings, cached balances, escrow leaving HELD once, parameter history), so the admin
offers no add, change or delete. Money is corrected by a reversal through the services, and
parameters change through governance.

Amount columns are display methods without `ordering`: on SQLite the wide integers are TEXT, and
sorting them in SQL would be lexicographic (see core.fields).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import UserAdmin
from accounts.models import User
from core.admin import ReadOnlyAdminMixin
from core.exceptions import ApplicationError
from tokenomics.models import (
    ChainBurn,
    Epoch,
    Escrow,
    KycVerification,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Parameter,
    ParameterChange,
    Payout,
)
from tokenomics.money import format_amount
from tokenomics.selectors.ledger import account_balance
from tokenomics.services.payouts import (
    SETTLE_PERMISSION,
    payout_approve,
    payout_cancel,
    payout_mark_failed,
    payout_mark_paid,
)
from tokenomics.services.staking import kyc_verify
from tokenomics.templatetags.money import param_value, signed_money, unit_value

GOVERNANCE_NOTE = (
    "Values change only through governance: a passed proposal executes "
    "tokenomics.services.parameters.parameter_set after its timelock (or an emergency change, "
    "recorded as such), which checks the bounds and the quarterly limit and writes the history "
    "below. They cannot be edited here."
)
LATEST_ENTRIES = 50


class LatestEntriesFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Only the newest entries of an account: a busy account has far too many for one page."""

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        queryset: QuerySet[LedgerEntry] = super().get_queryset()
        return queryset[:LATEST_ENTRIES]


class _EntryInline(ReadOnlyAdminMixin, admin.TabularInline[LedgerEntry, Any]):
    model = LedgerEntry
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(description="Amount")
    def signed_amount(self, entry: LedgerEntry) -> str:
        return signed_money(entry.amount, entry.asset)


class AccountEntryInline(_EntryInline):
    verbose_name_plural = f"Latest entries (newest {LATEST_ENTRIES})"
    formset = LatestEntriesFormSet
    fields = ("posted_at", "transaction_link", "kind", "signed_amount")
    readonly_fields = fields
    ordering = ("-transaction__posted_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return super().get_queryset(request).select_related("transaction")

    @admin.display(description="Posted")
    def posted_at(self, entry: LedgerEntry) -> Any:
        return entry.transaction.posted_at

    @admin.display(description="Kind")
    def kind(self, entry: LedgerEntry) -> str:
        return entry.transaction.get_kind_display()

    @admin.display(description="Transaction")
    def transaction_link(self, entry: LedgerEntry) -> str:
        url = reverse("admin:tokenomics_ledgertransaction_change", args=[entry.transaction_id])
        return format_html('<a href="{}">{}</a>', url, entry.transaction)


class TransactionEntryInline(_EntryInline):
    fields = ("account", "asset", "signed_amount")
    readonly_fields = fields
    ordering = ("id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return super().get_queryset(request).select_related("account__owner")


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[LedgerAccount]):
    list_display = ("id", "owner", "kind", "asset", "formatted_balance", "overdraft_allowed")
    list_filter = ("kind", "asset", "overdraft_allowed")
    search_fields = ("owner__email",)
    list_select_related = ("owner",)
    ordering = ("id",)
    fields = ("owner", "kind", "asset", "formatted_balance", "overdraft_allowed", "created_at", "updated_at")
    readonly_fields = fields
    inlines = (AccountEntryInline,)

    @admin.display(description="Balance")
    def formatted_balance(self, account: LedgerAccount) -> str:
        # The platform's accounts keep no cached balance: theirs is Σ entries (one query each).
        amount = account.balance if account.owner_id is not None else account_balance(account=account)
        return format_amount(amount=amount, asset=account.asset)


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[LedgerTransaction]):
    list_display = ("id", "kind", "reference", "party", "posted_at")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "reference", "memo")
    list_select_related = ("party",)
    date_hierarchy = "posted_at"
    ordering = ("-posted_at", "-id")
    fields = (
        "kind",
        "memo",
        "reference",
        "party",
        "posted_at",
        "idempotency_key",
        "fingerprint",
        "reverses",
    )
    readonly_fields = fields
    inlines = (TransactionEntryInline,)


class ParameterChangeInline(ReadOnlyAdminMixin, admin.TabularInline[ParameterChange, Any]):
    model = ParameterChange
    extra = 0
    can_delete = False
    verbose_name_plural = "History (newest first)"
    fields = ("changed_at", "old", "new", "changed_by", "proposal_ref", "reason", "emergency")
    readonly_fields = fields
    ordering = ("-changed_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ParameterChange]:
        return super().get_queryset(request).select_related("parameter", "changed_by")

    @admin.display(description="Old value")
    def old(self, change: ParameterChange) -> str:
        return "initial" if change.old_value is None else unit_value(change.old_value, change.parameter.unit)

    @admin.display(description="New value")
    def new(self, change: ParameterChange) -> str:
        return unit_value(change.new_value, change.parameter.unit)


@admin.register(Parameter)
class ParameterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Parameter]):
    list_display = ("key", "category", "formatted_value", "unit")
    list_filter = ("category", "unit")
    search_fields = ("key", "description")
    fieldsets = (
        (
            None,
            {
                "description": GOVERNANCE_NOTE,
                "fields": (
                    "key",
                    "category",
                    "description",
                    "formatted_value",
                    "value",
                    "unit",
                    "min_value",
                    "max_value",
                    "updated_at",
                ),
            },
        ),
    )
    readonly_fields = (
        "key",
        "category",
        "description",
        "formatted_value",
        "value",
        "unit",
        "min_value",
        "max_value",
        "updated_at",
    )
    inlines = (ParameterChangeInline,)

    @admin.display(description="Value")
    def formatted_value(self, parameter: Parameter) -> str:
        return param_value(parameter)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {"subtitle": GOVERNANCE_NOTE, **(extra_context or {})})


@admin.register(Escrow)
class EscrowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Escrow]):
    list_display = (
        "reference",
        "state",
        "asset",
        "formatted_amount",
        "creator",
        "payer",
        "release_after",
        "frozen",
    )
    list_filter = ("state", "frozen", "asset")
    search_fields = ("reference", "creator__email", "payer__email")
    list_select_related = ("creator", "payer")
    ordering = ("-created_at",)
    fields = (
        "reference",
        "state",
        "frozen",
        "asset",
        "formatted_amount",
        "formatted_refunded",
        "payer",
        "creator",
        "source_account",
        "release_after",
        "resolved_at",
        "hold_transaction",
        "release_transaction",
        "refund_transaction",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="Amount")
    def formatted_amount(self, escrow: Escrow) -> str:
        return format_amount(amount=escrow.amount, asset=escrow.asset)

    @admin.display(description="Refunded")
    def formatted_refunded(self, escrow: Escrow) -> str:
        return format_amount(amount=escrow.refunded_amount, asset=escrow.asset)


def _payout_action(
    modeladmin: admin.ModelAdmin[Payout],
    request: HttpRequest,
    queryset: QuerySet[Payout],
    act: Callable[[Payout], object],
    verb: str,
) -> None:
    """Run one service call per selected payout; each is its own transaction, reported one by one."""
    done = 0
    for payout in queryset.order_by("pk"):
        try:
            act(payout)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{payout.reference}: {exc.message}", messages.ERROR)
        else:
            done += 1
            # The payout row keeps the last reviewer; the admin's history keeps every action.
            modeladmin.log_change(request, payout, f"Payout {verb} by staff action.")
    if done:
        modeladmin.message_user(request, f"{done} payout(s) {verb}.", messages.SUCCESS)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Payout]):
    """Payouts are written by tokenomics.services.payouts only; staff act through the actions:
    approve one held for review (above the KYC threshold), cancel one not yet sent (money back to
    the payable), and settle a USD payout after paying it through Stripe (paid, or failed: reversed).
    AGR payouts settle by themselves when their on-chain transfer is confirmed or reverts."""

    list_display = (
        "reference",
        "user",
        "status",
        "account_kind",
        "rail",
        "formatted_amount",
        "formatted_fee",
        "formatted_net",
        "instant",
        "created_at",
        "reviewed_by",
    )
    list_filter = ("status", "rail", "account_kind", "instant")
    search_fields = ("reference", "user__email", "to_address")
    list_select_related = ("user", "reviewed_by")
    ordering = ("-created_at", "-id")
    fields = (
        "reference",
        "user",
        "status",
        "account_kind",
        "asset",
        "rail",
        "instant",
        "formatted_amount",
        "formatted_fee",
        "formatted_net",
        "to_address",
        "chain_payout",
        "ledger_transaction",
        "reversal_transaction",
        "failure_reason",
        "reviewed_by",
        "reviewed_at",
        "created_at",
        "updated_at",
        "settled_at",
    )
    readonly_fields = fields
    actions = ("approve", "cancel", "mark_paid", "mark_failed")

    @admin.display(description="Amount")
    def formatted_amount(self, payout: Payout) -> str:
        return format_amount(amount=payout.amount, asset=payout.asset)

    @admin.display(description="Fee")
    def formatted_fee(self, payout: Payout) -> str:
        return format_amount(amount=payout.fee, asset=payout.asset)

    @admin.display(description="Net")
    def formatted_net(self, payout: Payout) -> str:
        return format_amount(amount=payout.net, asset=payout.asset)

    def has_settle_permission(self, request: HttpRequest) -> bool:
        # The rows stay read-only; acting on a payout moves money, which needs its own permission.
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(SETTLE_PERMISSION))

    def _staff(self, request: HttpRequest) -> User:
        assert isinstance(request.user, User)
        return request.user

    @admin.action(description="Approve payouts held for review (send them)", permissions=["settle"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        staff = self._staff(request)
        _payout_action(
            self, request, queryset, lambda p: payout_approve(payout_id=p.pk, staff=staff), "approved"
        )

    @admin.action(description="Cancel payouts not yet sent (return the money)", permissions=["settle"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        staff = self._staff(request)
        _payout_action(
            self, request, queryset, lambda p: payout_cancel(payout_id=p.pk, staff=staff), "canceled"
        )

    @admin.action(description="Mark USD payouts paid (sent through Stripe)", permissions=["settle"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        staff = self._staff(request)
        _payout_action(
            self, request, queryset, lambda p: payout_mark_paid(payout_id=p.pk, staff=staff), "marked paid"
        )

    @admin.action(description="Mark USD payouts failed (return the money)", permissions=["settle"])
    def mark_failed(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        staff = self._staff(request)
        _payout_action(
            self,
            request,
            queryset,
            lambda p: payout_mark_failed(payout_id=p.pk, reason="Marked failed by staff", staff=staff),
            "marked failed",
        )


@admin.register(Epoch)
class EpochAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Epoch]):
    """Closed revenue-distribution epochs: their ledger transactions and how each pool was divided."""

    list_display = (
        "number",
        "starts_at",
        "ends_at",
        "closed_at",
        "distribution_transaction",
        "emission_transaction",
    )
    ordering = ("-number",)
    fields = (
        "number",
        "starts_at",
        "ends_at",
        "closed_at",
        "distribution_transaction",
        "emission_transaction",
        "breakdown",
    )
    readonly_fields = fields


@admin.register(ChainBurn)
class ChainBurnAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ChainBurn]):
    """Batched transfers of burned AGR to the burn address, with their transaction hashes."""

    list_display = ("id", "status", "formatted_amount", "to_address", "tx_hash", "created_at", "confirmed_at")
    list_filter = ("status",)
    search_fields = ("tx_hash",)
    ordering = ("-id",)
    fields = (
        "status",
        "formatted_amount",
        "to_address",
        "hot_wallet",
        "nonce",
        "tx_hash",
        "broadcast_at",
        "confirmed_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="Amount")
    def formatted_amount(self, burn: ChainBurn) -> str:
        return format_amount(amount=burn.amount, asset="AGR")


# ----------------------------------------------------------------------------- KYC (SPEC §8)

KYC_PERMISSION = "tokenomics.add_kycverification"


@admin.register(KycVerification)
class KycVerificationAdmin(admin.ModelAdmin[KycVerification]):
    """Who verified whose identity, and when: payouts above payout.kyc_threshold_cents need it.
    Staff with the add permission verify a person here (Add) or from the users list (the action
    "Mark KYC verified"); both go through `tokenomics.services.staking.kyc_verify`, which records
    the staff member and the time. A verification is never edited or deleted here."""

    list_display = ("user", "verified_by", "verified_at", "note")
    search_fields = ("user__email", "verified_by__email", "note")
    list_select_related = ("user", "verified_by")
    ordering = ("-verified_at",)
    autocomplete_fields = ("user",)

    def get_fields(self, request: HttpRequest, obj: KycVerification | None = None) -> tuple[str, ...]:
        return ("user", "note") if obj is None else ("user", "verified_by", "verified_at", "note")

    def get_readonly_fields(
        self, request: HttpRequest, obj: KycVerification | None = None
    ) -> tuple[str, ...]:
        return () if obj is None else ("user", "verified_by", "verified_at", "note")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: KycVerification, form: Any, change: bool) -> None:
        # The service writes the row with the staff member as `verified_by`; the form only picks
        # whom (a second verification of the same person is refused by the form's unique check).
        assert isinstance(request.user, User)
        saved, _ = kyc_verify(user=obj.user, staff_user=request.user, note=obj.note)
        obj.pk = saved.pk
        obj.verified_by = saved.verified_by
        obj.verified_at = saved.verified_at


admin.site.unregister(User)


@admin.register(User)
class UserKycAdmin(UserAdmin):
    """The accounts app's user admin, plus the KYC column and action (accounts cannot import the
    money app, so tokenomics extends its admin; accounts is installed first)."""

    list_select_related = ("kyc",)
    actions = ("mark_kyc_verified",)

    def get_list_display(self, request: HttpRequest) -> tuple[str | Callable[[User], str | bool], ...]:
        return (*super().get_list_display(request), "kyc_verified")

    @admin.display(description="KYC verified", boolean=True)
    def kyc_verified(self, user: User) -> bool:
        return hasattr(user, "kyc")

    def has_kyc_permission(self, request: HttpRequest) -> bool:
        staff = request.user
        return bool(staff.is_active and staff.is_staff and staff.has_perm(KYC_PERMISSION))

    @admin.action(description="Mark KYC verified (identity checked)", permissions=["kyc"])
    def mark_kyc_verified(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        assert isinstance(request.user, User)
        verified = already = 0
        for person in queryset.order_by("pk"):
            _, created = kyc_verify(user=person, staff_user=request.user)
            if created:
                verified += 1
                self.log_change(request, person, "KYC verified by staff action.")
            else:
                already += 1
        if verified:
            self.message_user(request, f"{verified} person(s) marked KYC verified.", messages.SUCCESS)
        if already:
            self.message_user(request, f"{already} person(s) were already verified (kept as they were).")
