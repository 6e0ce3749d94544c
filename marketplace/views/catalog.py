from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path


def placeholder(request: HttpRequest) -> HttpResponse:  # replaced by the real page
    return HttpResponse("Coming soon")


urlpatterns: list[URLPattern] = [path("models/", placeholder, name="catalog")]
