from __future__ import annotations

from django.urls import path

from tokenomics import views

app_name = "tokenomics"

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("parameters/", views.parameters, name="parameters"),
]
