from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from core.models import BaseModel

# What others see of someone without a display name (reviews, creator pages, parameter history).
ANONYMOUS_NAME = "Anonymous member"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """One account per person; buyer, creator and provider are capabilities, not user types."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=80, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def public_name(self) -> str:
        # Never derived from the email: its local part is often the person's real name, and it is
        # half of their login. Someone who has not chosen a display name stays anonymous.
        return self.display_name or ANONYMOUS_NAME


class ApiKey(BaseModel):
    """A programmatic credential. Only the SHA-256 of the full key is stored; the key is shown once.

    The full key is `agr_live_<8-char lookup id>_<secret>`; `prefix` (`agr_live_<lookup id>`) finds
    the row, and the hash of the whole key is compared in constant time.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read account data"
        WRITE = "write", "Change account data and buy"
        INFERENCE = "inference", "Run inference"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=24, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)  # hex SHA-256 of the full key
    scopes = models.JSONField(default=list)  # list of Scope values
    last_used_at = models.DateTimeField(null=True, blank=True)  # updated at most once a minute
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["user", "revoked_at"], name="accounts_apikey_user_active")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Wallet(BaseModel):
    """An Ethereum address proven (by a SIWE signature) to belong to the user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="wallets")
    address = models.CharField(max_length=42, unique=True)  # EIP-55 checksummed
    chain_id = models.PositiveBigIntegerField()  # the chain named in the linking message
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return self.address


class SiweNonce(models.Model):
    """A server-issued, single-use EIP-4361 nonce. Consuming it is one DELETE, so it is atomic."""

    class Purpose(models.TextChoices):
        LINK = "link", "Link a wallet"
        LOGIN = "login", "Log in with a wallet"

    nonce = models.CharField(max_length=32, unique=True)
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True)  # set for LINK
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.purpose}:{self.nonce[:6]}…"


# The request header that attributes an API call to a registered integration (OpenRouter's app
# attribution): `Agora-Integration: int_…`. The gateway records it with the call; the traffic an
# integration brings weighs its developer's share of each revenue-distribution epoch.
INTEGRATION_HEADER = "Agora-Integration"
INTEGRATION_ID_PREFIX = "int_"


class Integration(BaseModel):
    """An app a developer built on the API. Its public id is not a secret: it names the app in the
    `Agora-Integration` header of the calls it makes, as a User-Agent would."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=200, blank=True)
    public_id = models.CharField(max_length=24, unique=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                "owner", Lower("name"), name="accounts_integration_name_unique_per_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"
