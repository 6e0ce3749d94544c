from __future__ import annotations

from django.urls import path

from tokenomics import views, views_staking
from tokenomics.stripe_webhook import stripe_webhook

app_name = "tokenomics"

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/top-up/", views.top_up, name="top-up"),
    path("wallet/top-up/start/", views.top_up_start, name="top-up-start"),
    path("wallet/top-up/<int:payment_id>/", views.top_up_pay, name="top-up-pay"),
    path("wallet/top-up/<int:payment_id>/status/", views.top_up_status, name="top-up-status"),
    path("payments/<int:payment_id>/card/setup/", views.card_setup, name="card-setup"),
    path("payments/<int:payment_id>/card/confirm/", views.card_confirm, name="card-confirm"),
    path("payouts/quote/", views.payout_quote, name="payout-quote"),
    path("payouts/", views.payout_create, name="payout-create"),
    path("parameters/", views.parameters, name="parameters"),
    path("transparency/", views.transparency, name="transparency"),
    path("stake/", views_staking.stake_page, name="stake"),
    path("stake/confirm/", views_staking.stake_confirm, name="stake-confirm"),
    path("webhooks/stripe/", stripe_webhook, name="stripe-webhook"),
]
