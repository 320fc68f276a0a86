from __future__ import annotations

import hashlib
import hmac
import re

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models

from admin_cohort.models.base import AliveManager, BaseModel

_LEGACY_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UserManager(BaseUserManager, AliveManager):
    def create_user(self, username: str, password: str | None = None, **fields) -> User:
        user = self.model(username=username, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, BaseModel):
    username = models.CharField(max_length=30, primary_key=True)
    email = models.EmailField(max_length=254, unique=True, null=True, blank=True)
    firstname = models.TextField(null=True, blank=True)
    lastname = models.TextField(null=True, blank=True)
    created_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_column="created_by"
    )
    updated_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_column="updated_by"
    )

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()
    all_objects = models.Manager()

    class Meta:
        db_table = "user"
        base_manager_name = "all_objects"

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = f"{self.firstname or ''} {self.lastname or ''} ({self.username})"
        return f"{name} (deleted)" if self.delete_datetime else name

    def set_password(self, raw_password: str | None) -> None:
        if raw_password is None:
            self.set_unusable_password()
        else:
            super().set_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        """Django hashes, plus the reference's legacy unsalted SHA-256 hex, upgraded on success."""
        if self.password and _LEGACY_SHA256.match(self.password):
            digest = hashlib.sha256(raw_password.encode()).hexdigest()
            if hmac.compare_digest(digest, self.password):
                self.set_password(raw_password)
                self.save(update_fields=["password"])
                return True
            return False
        return super().check_password(raw_password)
