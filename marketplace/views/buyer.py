from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path


def placeholder(request: HttpRequest, **kwargs: object) -> HttpResponse:  # replaced by the real pages
    return HttpResponse("Coming soon")


urlpatterns: list[URLPattern] = [
    path("library/", placeholder, name="library"),
    path("checkout/<int:plan_id>/", placeholder, name="checkout"),
    path("orders/<int:order_id>/", placeholder, name="order"),
]
