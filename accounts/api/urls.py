from __future__ import annotations

from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me", views.MeApi.as_view(), name="me"),
    path("api-keys", views.ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", views.ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
    path("integrations", views.IntegrationListCreateApi.as_view(), name="integrations"),
    path("wallets/nonce", views.WalletNonceApi.as_view(), name="wallet-nonce"),
    path("wallets", views.WalletListLinkApi.as_view(), name="wallets"),
    path("wallets/<int:wallet_id>", views.WalletUnlinkApi.as_view(), name="wallet-unlink"),
]
