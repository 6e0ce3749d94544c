from __future__ import annotations

from django.urls import path

from tokenomics import views
from tokenomics.stripe_webhook import stripe_webhook

app_name = "tokenomics"

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("parameters/", views.parameters, name="parameters"),
    path("webhooks/stripe/", stripe_webhook, name="stripe-webhook"),
]
