"""The app is optional: installed on request, and then its source database must be configured."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import router

from accesses.models import Perimeter
from accesses_perimeters.models import CareSite
from admin_cohort.tests.test_configuration import run_in_django, start_django

PRODUCTION = {
    "DB_NAME": "cohort",
    "DB_HOST": "127.0.0.1",
    "DB_USER": "postgres",
    "DJANGO_SECRET_KEY": "k",
    "JWT_SIGNING_KEY": "k",
    "PERIMETER_TYPES": "AP-HP",
}


def test_source_models_go_to_the_source_database_and_nothing_is_migrated_there():
    assert router.db_for_read(CareSite) == router.db_for_write(CareSite) == "accesses_perimeters"
    assert router.db_for_read(Perimeter) == "default"
    assert not router.allow_migrate_model("accesses_perimeters", Perimeter)
    assert not router.allow_migrate_model("default", CareSite)
    assert settings.DATABASES["accesses_perimeters"]["OPTIONS"] == {"options": "-c search_path=public"}


@pytest.mark.slow
class TestStartUp:
    def test_not_installed_by_default(self, tmp_path):
        result = run_in_django(
            "from django.conf import settings; print('accesses_perimeters' in settings.INSTALLED_APPS, "
            "'accesses_perimeters' in settings.DATABASES)",
            EMBEDDED_DB_PATH=str(tmp_path / "d"),
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["False", "False"]

    def test_production_mode_names_the_missing_source_variables(self):
        result = start_django(INCLUDED_APPS="accesses,accesses_perimeters", **PRODUCTION)
        assert result.returncode != 0
        missing = "PERIMETERS_SOURCE_DB_HOST, PERIMETERS_SOURCE_DB_NAME, PERIMETERS_SOURCE_DB_USER."
        assert f"production mode: {missing}" in result.stderr

    def test_requires_the_accesses_app(self, tmp_path):
        result = start_django(INCLUDED_APPS="accesses_perimeters", EMBEDDED_DB_PATH=str(tmp_path / "d"))
        assert result.returncode != 0 and "add accesses" in result.stderr
