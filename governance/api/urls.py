from __future__ import annotations

from django.urls import path

from governance.api import views

urlpatterns = [
    path("proposals", views.ProposalListCreateApi.as_view(), name="proposals"),
    path("proposals/<int:proposal_id>", views.ProposalDetailApi.as_view(), name="proposal"),
    path("proposals/<int:proposal_id>/votes", views.ProposalVoteApi.as_view(), name="proposal-votes"),
    path("proposals/<int:proposal_id>/queue", views.ProposalQueueApi.as_view(), name="proposal-queue"),
    path("proposals/<int:proposal_id>/execute", views.ProposalExecuteApi.as_view(), name="proposal-execute"),
    path("proposals/<int:proposal_id>/cancel", views.ProposalCancelApi.as_view(), name="proposal-cancel"),
    path("delegations", views.DelegationApi.as_view(), name="delegations"),
]
