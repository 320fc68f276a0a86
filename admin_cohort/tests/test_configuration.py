"""Configuration from the environment: scheduled tasks, production-mode checks, INCLUDED_APPS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.schedules import crontab

from admin_cohort.env import ConfigurationError
from admin_cohort.scheduling import MAINTENANCE_NOTIFIER_TASK, beat_schedule, parse_scheduled_tasks

ROOT = Path(__file__).resolve().parents[2]


class TestScheduledTasks:
    def test_four_field_form(self):
        tasks = parse_scheduled_tasks(
            "perimeters,accesses_perimeters.tasks.perimeters_daily_update,1,0;"
            " count_users,accesses.tasks.count_users_on_perimeters,*/2,30 "
        )
        assert [(t.name, t.task, t.hour, t.minute) for t in tasks] == [
            ("perimeters", "accesses_perimeters.tasks.perimeters_daily_update", "1", "0"),
            ("count_users", "accesses.tasks.count_users_on_perimeters", "*/2", "30"),
        ]

    def test_five_field_form_joins_module_and_function(self):
        (task,) = parse_scheduled_tasks("expiring,accesses.tasks,check_expiring_accesses,7,0")
        assert task.task == "accesses.tasks.check_expiring_accesses"

    def test_schedule_always_has_the_maintenance_notifier_every_minute(self):
        schedule = beat_schedule("expiring,accesses.tasks.check_expiring_accesses,7,15")
        assert schedule["maintenance_notifier"]["task"] == MAINTENANCE_NOTIFIER_TASK
        assert schedule["maintenance_notifier"]["schedule"] == crontab(minute="*/1")
        assert schedule["expiring"]["schedule"] == crontab(hour="7", minute="15")
        assert beat_schedule("").keys() == {"maintenance_notifier"}

    @pytest.mark.parametrize(
        ("value", "named"),
        [
            ("only,three,fields", "only,three,fields"),
            ("a,b,c,d,e,f", "a,b,c,d,e,f"),
            ("bad,not a path,1,0", "not a path"),
            ("bad,mod.task,25,0", "bad,mod.task,25,0"),
            ("bad,mod.task,1,61", "bad,mod.task,1,61"),
            ("bad,mod.task,x,0", "hour"),
            (",mod.task,1,0", "empty name"),
            ("a,mod.t,1,0;a,mod.u,2,0", "duplicated"),
            ("maintenance_notifier,mod.t,1,0", "reserved"),
        ],
    )
    def test_malformed_entries_are_refused_with_a_message_naming_them(self, value, named):
        with pytest.raises(ConfigurationError) as error:
            parse_scheduled_tasks(value)
        assert named in str(error.value)


def start_django(**env: str) -> subprocess.CompletedProcess:
    """`manage.py check` in a clean environment (only the given variables)."""
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
class TestStartUp:
    def test_production_mode_names_missing_variables(self):
        result = start_django(DB_NAME="cohort", EMBEDDED_DB_PATH="/tmp/x.sqlite3")
        assert result.returncode != 0
        assert "Missing required environment variable(s) for production mode" in result.stderr
        for name in ("DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DB_HOST", "DB_USER", "PERIMETER_TYPES"):
            assert name in result.stderr

    def test_malformed_scheduled_task_stops_start_up(self, tmp_path):
        result = start_django(SCHEDULED_TASKS="nightly,accesses.tasks.x,99,0", EMBEDDED_DB_PATH=str(tmp_path / "d"))
        assert result.returncode != 0
        assert "nightly,accesses.tasks.x,99,0" in result.stderr

    def test_unknown_included_app_is_refused(self, tmp_path):
        result = start_django(INCLUDED_APPS="accesses,nonsense", EMBEDDED_DB_PATH=str(tmp_path / "d"))
        assert result.returncode != 0 and "nonsense" in result.stderr

    def test_oidc_server_without_its_companions_is_refused(self, tmp_path):
        result = start_django(OIDC_AUTH_SERVER_1="http://127.0.0.1:1/realms/x", EMBEDDED_DB_PATH=str(tmp_path / "d"))
        assert result.returncode != 0 and "OIDC_CLIENT_ID_1" in result.stderr

    @pytest.mark.parametrize(
        ("env", "named"),
        [
            ({"STORAGE_PROVIDERS_AUTH": "ldap"}, "STORAGE_PROVIDERS_AUTH='ldap' is not one of: none, simple, kerberos"),
            ({"STORAGE_PROVIDERS_AUTH": "simple"}, "needs STORAGE_PROVIDERS_USER"),
        ],
    )
    def test_storage_authentication_is_checked_at_start_up(self, tmp_path, env, named):
        result = start_django(EMBEDDED_DB_PATH=str(tmp_path / "d"), **env)
        assert result.returncode != 0 and named in result.stderr

    def test_kerberos_without_requests_gssapi_is_refused_at_start_up(self, tmp_path):
        # The package may be installed here (the Kerberos tests use it): the started process is made not to find it.
        (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['requests_gssapi'] = None\n")
        result = start_django(
            EMBEDDED_DB_PATH=str(tmp_path / "d"), STORAGE_PROVIDERS_AUTH="kerberos", PYTHONPATH=str(tmp_path)
        )
        assert result.returncode != 0 and "needs the requests-gssapi package" in result.stderr

    def test_embedded_mode_needs_no_variable(self, tmp_path):
        result = start_django(EMBEDDED_DB_PATH=str(tmp_path / "d"))
        assert result.returncode == 0, result.stderr


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """`python -c code` with the test settings (production mode on this run's services) and `env`."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def run_in_django(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_an_app_left_out_of_included_apps_has_no_urls_nor_hooks(tmp_path):
    code = (
        "from django.urls import resolve, Resolver404\n"
        "from admin_cohort import plugins\n"
        "def mounted(path):\n"
        "    try:\n"
        "        resolve(path); return True\n"
        "    except Resolver404:\n"
        "        return False\n"
        "print(mounted('/accesses/'), mounted('/webcontent/contents/'), "
        "type(plugins.rights()).__name__, len(plugins._state['post_auth_hooks']))"
    )
    only_contents = run_in_django(code, INCLUDED_APPS="content_management", EMBEDDED_DB_PATH=str(tmp_path / "a"))
    assert only_contents.returncode == 0, only_contents.stderr
    assert only_contents.stdout.split() == ["False", "True", "AccessRightsProvider", "0"]
    both = run_in_django(code, INCLUDED_APPS="accesses,content_management", EMBEDDED_DB_PATH=str(tmp_path / "b"))
    assert both.stdout.split() == ["True", "True", "AccessesRightsProvider", "1"]
