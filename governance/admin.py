"""Proposals in the admin, read-only: staff cancel and veto from the proposal page, through the
transition service (governance.moderate_proposal), never by editing rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from governance.models import Proposal, ProposalChange


class ProposalChangeInline(ReadOnlyAdminMixin, admin.TabularInline[ProposalChange, Any]):
    model = ProposalChange
    extra = 0


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Proposal]):
    list_display = ("id", "title", "kind", "proposer", "submitted_at", "voting_ends_at", "eta", "executed_at")
    list_filter = ("kind", "vetoed")
    search_fields = ("title",)
    inlines = (ProposalChangeInline,)
