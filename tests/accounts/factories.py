from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from accounts.models import User


class UserFactory(DjangoModelFactory[User]):
    """A user whose email is verified, as after the sign-up flow."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("first_name")
    password = factory.django.Password("correct-horse-battery-staple-42")

    @factory.post_generation
    def verified_email(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, primary=True, verified=True)


def staff_with(*permissions: str, **fields: object) -> User:
    """A staff member (not a superuser) granted exactly `permissions` ("app_label.codename")."""
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True, **fields)
    for name in permissions:
        app_label, codename = name.split(".", 1)
        staff.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=staff.pk)  # a fresh instance: permissions are cached per object
