from __future__ import annotations

from django.urls import path

from tokenomics.api import credits, payouts, staking, transparency, views

urlpatterns = [
    path("balance", views.BalanceApi.as_view(), name="balance"),
    path("credits", credits.CreditCreateApi.as_view(), name="credits"),
    path("credits/<int:payment_id>", credits.CreditDetailApi.as_view(), name="credit"),
    path(
        "credits/<int:payment_id>/agr-payment",
        credits.CreditAgrPaymentApi.as_view(),
        name="credit-agr-payment",
    ),
    path("parameters", views.ParameterListApi.as_view(), name="parameters"),
    path("payouts", payouts.PayoutListCreateApi.as_view(), name="payouts"),
    path("payouts/<int:payout_id>", payouts.PayoutDetailApi.as_view(), name="payout"),
    path("transparency", transparency.TransparencyApi.as_view(), name="transparency"),
    path("stakes", staking.StakeListCreateApi.as_view(), name="stakes"),
    path("stakes/unstake", staking.UnstakeApi.as_view(), name="stakes-unstake"),
    path("parameters/<str:key>", views.ParameterDetailApi.as_view(), name="parameter"),
]
