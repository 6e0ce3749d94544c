from __future__ import annotations

from django.urls import path

from tokenomics.api import views

urlpatterns = [
    path("balance", views.BalanceApi.as_view(), name="balance"),
    path("parameters", views.ParameterListApi.as_view(), name="parameters"),
    path("parameters/<str:key>", views.ParameterDetailApi.as_view(), name="parameter"),
]
