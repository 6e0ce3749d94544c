from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api-key-revoke"),
    path("integrations/", views.integration_create, name="integrations"),
    path("wallets/", views.wallets, name="wallets"),
    path("wallets/<int:wallet_id>/unlink/", views.wallet_unlink, name="wallet-unlink"),
    path("wallet-login/", views.wallet_login_page, name="wallet-login-page"),
    path("wallet-login/nonce/", views.wallet_login_nonce, name="wallet-login-nonce"),
    path("wallet-login/verify/", views.wallet_login, name="wallet-login"),
]
