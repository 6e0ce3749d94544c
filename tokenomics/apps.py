from __future__ import annotations

from django.apps import AppConfig


class TokenomicsConfig(AppConfig):
    name = "tokenomics"
    verbose_name = "Tokenomics"
