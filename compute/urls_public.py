"""Public compute pages at the site root."""

from __future__ import annotations

from django.urls import path

from compute import views_public

app_name = "compute_public"
urlpatterns = [
    path("providers/<int:provider_id>/", views_public.provider_page, name="provider"),
]
