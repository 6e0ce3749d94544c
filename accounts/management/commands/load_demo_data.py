"""Demo accounts for `make demo`; running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts import services
from accounts.models import User

# Documented in README.md. Demo only: `make demo` runs with local settings on loopback.
DEMO_PASSWORD = "agora-demo-2026"  # noqa: S105
DEMO_USERS = (
    ("buyer@agora.local", False, "Bea Buyer"),
    ("creator@agora.local", False, "Cam Creator"),
    ("provider@agora.local", False, "Pia Provider"),
    ("admin@agora.local", True, "Ada Admin"),
)


class Command(BaseCommand):
    help = "Create the demo accounts (verified emails, password in README.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        for email, is_staff, display_name in DEMO_USERS:
            if User.objects.filter(email=email).exists():
                continue
            user = services.user_create(
                email=email,
                password=DEMO_PASSWORD,
                email_verified=True,
                is_staff=is_staff,
                # The demo's one admin may do everything there, so the admin can be shown in full.
                is_superuser=is_staff,
            )
            services.user_profile_update(user=user, display_name=display_name)
            self.stdout.write(f"  created {email}")
        self.stdout.write(self.style.SUCCESS(f"Demo accounts ready (password: {DEMO_PASSWORD})."))
