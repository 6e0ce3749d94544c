"""compute's pages. (At merge: the playground, usage and metrics routes of the gwui branch join
these; each view module lists its own routes.)"""

from __future__ import annotations

from django.urls import URLPattern

from compute.views import provider

app_name = "compute"

urlpatterns: list[URLPattern] = [*provider.urlpatterns]
