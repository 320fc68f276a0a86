"""Test data builders."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accesses.models import RIGHT_FLAGS, Access, Perimeter, Profile, Role
from admin_cohort.models import MaintenancePhase, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"{4_100_000 + n}")
    firstname = "Jane"
    lastname = factory.Sequence(lambda n: f"DOE{chr(65 + n % 26)}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pass-word-123")


class PerimeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Perimeter

    id = factory.Sequence(lambda n: 100_000 + n)
    local_id = factory.LazyAttribute(lambda p: str(p.id))
    name = factory.Sequence(lambda n: f"Perimeter {n}")
    source_value = factory.Sequence(lambda n: f"P{n}")
    type_source_value = "AP-HP"
    level = 1
    cohort_id = factory.LazyAttribute(lambda p: str(p.id * 10))


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    name = factory.Sequence(lambda n: f"Role {n}")


def full_admin_role() -> Role:
    return RoleFactory(name="Full Admin", **{flag: True for flag in RIGHT_FLAGS})


def grant(user: User, role: Role, perimeter: Perimeter | None = None, *, days: int = 30) -> Access:
    """A valid access of `role` for `user` (creating the user's manual profile if needed)."""
    profile = Profile.objects.filter(user=user, source="Manual").first() or Profile.objects.create(user=user)
    now = timezone.now()
    return Access.objects.create(
        profile=profile,
        role=role,
        perimeter=perimeter or PerimeterFactory(),
        start_datetime=now - timedelta(days=1),
        end_datetime=now + timedelta(days=days),
    )


class MaintenancePhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MaintenancePhase

    subject = factory.Sequence(lambda n: f"Maintenance {n}")
    message = "Read-only mode"
    start_datetime = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    end_datetime = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=2))
