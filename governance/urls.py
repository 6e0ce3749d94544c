from __future__ import annotations

from django.urls import path

from governance import views

app_name = "governance"

urlpatterns = [
    path("governance/", views.index, name="index"),
    path("governance/propose/", views.propose, name="propose"),
    path("governance/proposals/<int:proposal_id>/", views.detail, name="proposal"),
    path("governance/proposals/<int:proposal_id>/tally/", views.tally, name="tally"),
    path("governance/proposals/<int:proposal_id>/vote/", views.vote, name="vote"),
    path("governance/proposals/<int:proposal_id>/comments/", views.comment, name="comment"),
    path("governance/proposals/<int:proposal_id>/<str:action>/", views.act, name="act"),
    path("governance/holders/<int:user_id>/", views.holder, name="holder"),
    path("governance/holders/<int:user_id>/delegate/", views.holder_delegate, name="holder-delegate"),
]
