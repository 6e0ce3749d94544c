"""Staff decide severe-slash proposals and slash appeals here (SPEC §6). The rows are read-only;
the actions call `compute.services.sla`, which slashes, bans or reverses through the ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from compute.models_sla import SevereSlashProposal, SlashAppeal
from compute.services.sla import (
    severe_slash_dismiss,
    severe_slash_uphold,
    slash_appeal_decide,
)
from core.exceptions import ApplicationError


def _act(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    act: Callable[[Any, User], Any],
    done: str,
) -> None:
    assert isinstance(request.user, User)
    count = 0
    for row in queryset:
        try:
            act(row, request.user)
            count += 1
        except ApplicationError as exc:
            model_admin.message_user(request, f"#{row.pk}: {exc}", messages.ERROR)
    if count:
        model_admin.message_user(request, f"{count} {done}.", messages.SUCCESS)


class _DecidedByStaff(admin.ModelAdmin[Any]):
    """Nobody adds, edits or deletes these rows; deciding them needs the change permission."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


@admin.register(SevereSlashProposal)
class SevereSlashProposalAdmin(_DecidedByStaff):
    list_display = ("pk", "provider", "source", "reason", "state", "created_at", "decided_by")
    list_filter = ("state", "source")
    actions = ("uphold", "dismiss")

    @admin.action(
        description="Uphold: slash (severe minimum, capped by tier) and ban", permissions=["change"]
    )
    def uphold(self, request: HttpRequest, queryset: QuerySet[SevereSlashProposal]) -> None:
        _act(
            self,
            request,
            queryset,
            lambda p, s: severe_slash_uphold(proposal_id=p.pk, staff_user=s),
            "upheld",
        )

    @admin.action(description="Dismiss", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[SevereSlashProposal]) -> None:
        _act(
            self,
            request,
            queryset,
            lambda p, s: severe_slash_dismiss(proposal_id=p.pk, staff_user=s),
            "dismissed",
        )


@admin.register(SlashAppeal)
class SlashAppealAdmin(_DecidedByStaff):
    list_display = ("pk", "slash", "provider", "state", "created_at", "decided_by")
    list_filter = ("state",)
    actions = ("uphold", "reject")

    @admin.action(description="Uphold: reverse the slash", permissions=["change"])
    def uphold(self, request: HttpRequest, queryset: QuerySet[SlashAppeal]) -> None:
        _act(
            self,
            request,
            queryset,
            lambda a, s: slash_appeal_decide(appeal_id=a.pk, staff_user=s, uphold=True),
            "upheld (slashes reversed)",
        )

    @admin.action(description="Reject: the slash stands", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[SlashAppeal]) -> None:
        _act(
            self,
            request,
            queryset,
            lambda a, s: slash_appeal_decide(appeal_id=a.pk, staff_user=s, uphold=False),
            "rejected",
        )
