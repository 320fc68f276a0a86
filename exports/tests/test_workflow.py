"""The export workflow (spec 02 §16.5-§18) on a scripted engine: steps, polling, endings, e-mails, subsets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cohort.models import CohortResult, JobStatus
from cohort.services import jobs
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from exports.engine import ExportStepError, RemoteTaskUnreachable
from exports.models import Export, ExportTable
from exports.services import cleanup, creation, subsets, workflow
from exports.tests.scripted_engine import ScriptedEngine, ScriptedStep, engine_in_use
from exports.tests.task_queue import empty_task_queue, queued_tasks  # noqa: F401 (fixture)
from tests.factories import UserFactory


@pytest.fixture
def owner(db):
    return UserFactory(username="4000001", firstname="Alice", lastname="MARTIN", email="alice@example.org")


@pytest.fixture
def source(owner):
    measure = measure_of(snapshot_of(owner, "8312002244"), status=JobStatus.FINISHED, measure=1523)
    return cohort_of(measure, status=JobStatus.FINISHED, group_id="123456", name="My cohort")


@pytest.fixture
def make_export(owner, source):
    def make(output_format="csv", **fields) -> Export:
        export = Export.objects.create(
            owner=owner,
            output_format=output_format,
            nominative=True,
            target_name=f"4000001_20260112_1020301234{Export.objects.count():02d}",
            target_location="/exports/csv",
            **fields,
        )
        ExportTable.objects.create(export=export, name="person", cohort_result_source=source)
        return export

    return make


def csv_script(*polls) -> list[ScriptedStep]:
    return [ScriptedStep("export", "Error while submitting the export: ", starts="task-1", polls=list(polls))]


def hive_script(conclude: str | Exception | None = None) -> list[ScriptedStep]:
    prepare = "Error while preparing DB for export: "
    return [
        ScriptedStep("create_database", prepare, starts="hadoop-1", polls=[JobStatus.FINISHED]),
        ScriptedStep("chown_to_hive_user", prepare, starts=None),
        ScriptedStep("export", "Error while submitting the export: ", starts="task-1", polls=[JobStatus.FINISHED]),
        ScriptedStep("chown_to_datalab", "Could not conclude export: ", starts=conclude),
    ]


def reload(export: Export) -> Export:
    return Export.objects.get(pk=export.pk)


def end_job(subset: CohortResult, status: str) -> None:
    """A subset's cohort creation ends, as its callback would end it."""
    jobs.transition(CohortResult, subset.pk, lambda job: jobs.set_status(job, status))


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


class TestCsvExport:
    def test_launched_polled_and_finished_with_the_owner_told(
        self, make_export, django_capture_on_commit_callbacks, settings
    ):
        settings.ADMINS = [("Admin", "admin@example.org")]
        export = make_export()
        with engine_in_use(ScriptedEngine(csv_script(JobStatus.PENDING, JobStatus.STARTED, JobStatus.FINISHED))):
            with django_capture_on_commit_callbacks(execute=True):
                workflow.launch(export.pk)
            launched = reload(export)
            assert (launched.request_job_status, launched.request_job_id) == ("pending", "task-1")
            assert subjects() == ["[Cohorte 123456] Demande d'export `My cohort` reçue"]

            workflow.advance(export.pk)
            workflow.advance(export.pk)
            assert reload(export).request_job_status == "started"
            with django_capture_on_commit_callbacks(execute=True):
                workflow.advance(export.pk)

        done = reload(export)
        assert done.request_job_status == "finished"
        assert done.is_user_notified and done.request_job_duration
        assert subjects()[1:] == ["[Cohorte 123456] Export `My cohort` terminé"]
        assert mail.outbox[1].to == ["alice@example.org"]
        assert f"/download/exports/{export.pk}/" in mail.outbox[1].body

    def test_a_duplicated_launch_does_nothing(self, make_export):
        export = make_export()
        script = csv_script(JobStatus.STARTED)
        with engine_in_use(ScriptedEngine(script)):
            workflow.launch(export.pk)
            workflow.launch(export.pk)
        assert script[0].started == 1

    def test_a_submission_error_fails_the_export_and_tells_owner_and_admins(
        self, make_export, django_capture_on_commit_callbacks, settings
    ):
        settings.ADMINS = [("Admin", "admin@example.org")]
        export = make_export()
        script = [ScriptedStep("export", "Error while submitting the export: ", starts=ExportStepError("422 bad"))]
        with engine_in_use(ScriptedEngine(script)), django_capture_on_commit_callbacks(execute=True):
            workflow.launch(export.pk)
        failed = reload(export)
        assert failed.request_job_status == "failed"
        assert failed.request_job_fail_msg == "Error while submitting the export: 422 bad"
        assert failed.is_user_notified
        assert subjects()[1:] == [
            "[Cohorte 123456] Votre demande d'export `My cohort` n'a pas abouti",
            "Demande d'export échouée",
        ]
        assert mail.outbox[2].to == ["admin@example.org"]
        assert "422 bad" in mail.outbox[1].body and str(export.pk) in mail.outbox[2].body

    def test_a_crash_in_a_step_fails_the_export(self, make_export):
        export = make_export()
        script = [ScriptedStep("export", "Error while submitting the export: ", starts=KeyError("boom"))]
        with engine_in_use(ScriptedEngine(script)):
            workflow.launch(export.pk)
        assert reload(export).request_job_fail_msg == "Error while submitting the export: internal error (KeyError)"

    def test_an_engine_refusing_the_export_fails_it(self, make_export):
        export = make_export()
        with engine_in_use(ScriptedEngine(refuse="A `person` table is required")):
            workflow.launch(export.pk)
        assert reload(export).request_job_fail_msg == "A `person` table is required"

    @pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.UNKNOWN])
    def test_a_remote_task_ending_badly_fails_the_export(self, make_export, status):
        export = make_export()
        with engine_in_use(ScriptedEngine(csv_script(status))):
            workflow.launch(export.pk)
            workflow.advance(export.pk)
        failed = reload(export)
        assert (failed.request_job_status, failed.request_job_fail_msg) == (
            "failed",
            f"export: job `task-1` ended with status `{status}`",
        )

    def test_unreadable_statuses_fail_the_export_after_the_allowed_number(self, make_export, settings):
        settings.EXPORT_MAX_POLL_FAILURES = 3
        export = make_export()
        with engine_in_use(ScriptedEngine(csv_script(RemoteTaskUnreachable("connection refused")))):
            workflow.launch(export.pk)
            workflow.advance(export.pk)
            workflow.advance(export.pk)
            assert reload(export).request_job_status == "pending"
            workflow.advance(export.pk)
        failed = reload(export)
        assert failed.request_job_status == "failed"
        assert "could not be read 3 times: connection refused" in failed.request_job_fail_msg

    def test_a_finished_export_never_moves_again(self, make_export):
        export = make_export()
        script = csv_script(JobStatus.FINISHED)
        with engine_in_use(ScriptedEngine(script)):
            workflow.launch(export.pk)
            workflow.advance(export.pk)
            workflow.advance(export.pk)
            workflow.launch(export.pk)
        assert reload(export).request_job_status == "finished"
        assert (script[0].started, len(script[0].polled)) == (1, 1)


class TestHiveExport:
    def test_every_step_runs_in_order_and_the_owner_hears_of_success_last(
        self, make_export, django_capture_on_commit_callbacks
    ):
        export = make_export("hive")
        script = hive_script()
        with engine_in_use(ScriptedEngine(script)), django_capture_on_commit_callbacks(execute=True):
            workflow.launch(export.pk)
            assert (reload(export).step, reload(export).step_task_id) == ("create_database", "hadoop-1")
            workflow.advance(export.pk)
            assert (reload(export).step, reload(export).request_job_id) == ("export", "task-1")
            workflow.advance(export.pk)
        assert [step.started for step in script] == [1, 1, 1, 1]
        assert reload(export).request_job_status == "finished"
        assert subjects() == [
            "[Cohorte 123456] Demande reçue de transfert en environnement Jupyter",
            "[Cohorte 123456] Export `My cohort` terminé",
        ]

    def test_a_failed_conclusion_fails_the_export_without_a_success_email(
        self, make_export, django_capture_on_commit_callbacks
    ):
        export = make_export("hive")
        engine = ScriptedEngine(hive_script(conclude=ExportStepError("permission denied")))
        with engine_in_use(engine), django_capture_on_commit_callbacks(execute=True):
            workflow.launch(export.pk)
            workflow.advance(export.pk)
            workflow.advance(export.pk)
        failed = reload(export)
        assert failed.request_job_fail_msg == "Could not conclude export: permission denied"
        assert not any("terminé" in subject for subject in subjects())

    def test_two_pollers_seeing_the_end_of_a_step_start_the_next_one_once(self, make_export):
        export = make_export("hive")
        script = hive_script()
        create_database = script[0]
        polled = create_database.poll

        def poll_while_another_poller_polls(task_id: str) -> str:
            create_database.poll = polled  # the other poller, polling the same task while we wait for ours
            workflow.advance(export.pk)
            return polled(task_id)

        create_database.poll = poll_while_another_poller_polls
        with engine_in_use(ScriptedEngine(script)):
            workflow.launch(export.pk)
            workflow.advance(export.pk)
        assert len(create_database.polled) == 2
        assert [step.started for step in script] == [1, 1, 1, 0]


class TestPolling:
    def test_the_poller_advances_waiting_exports_and_fails_those_running_too_long(self, make_export, settings):
        settings.EXPORT_TIMEOUT_HOURS = 2
        waiting, stuck = make_export(), make_export()
        with engine_in_use(ScriptedEngine(csv_script(JobStatus.STARTED))):
            workflow.launch(waiting.pk)
            workflow.launch(stuck.pk)
            Export.objects.filter(pk=stuck.pk).update(launched_at=timezone.now() - timedelta(hours=3))
            workflow.poll_exports()
            workflow.poll_exports()  # within half an interval: not polled again
        assert reload(waiting).request_job_status == "started"
        assert reload(waiting).polled_at is not None
        assert reload(stuck).request_job_fail_msg == "The export did not finish within 2 hours"

    def test_an_export_never_launched_times_out_too(self, make_export, settings):
        settings.EXPORT_TIMEOUT_HOURS = 2
        export = make_export()
        three_hours_ago = timezone.now() - timedelta(hours=3)
        Export.objects.filter(pk=export.pk).update(created_at=three_hours_ago, modified_at=three_hours_ago)
        workflow.poll_exports()
        assert reload(export).request_job_status == "failed"

    def test_a_retried_old_export_is_timed_from_its_retry(self, make_export, settings):
        settings.EXPORT_TIMEOUT_HOURS = 2
        export = make_export("hive")  # no retention: old Hive exports may be retried
        with engine_in_use(ScriptedEngine(csv_script(JobStatus.FAILED))):
            workflow.launch(export.pk)
            workflow.advance(export.pk)
        long_ago = timezone.now() - timedelta(days=3)
        Export.objects.filter(pk=export.pk).update(created_at=long_ago, launched_at=long_ago, modified_at=long_ago)
        creation.retry(reload(export))
        workflow.poll_exports()  # before the launch task runs
        assert reload(export).request_job_status == "new"

    def test_an_export_waiting_for_a_large_subset_is_left_to_the_subset(self, make_export, source, settings):
        settings.EXPORT_TIMEOUT_HOURS = 2
        export = make_export()
        subset = cohort_of(source.dated_measure, status=JobStatus.LONG_PENDING, is_subset=True, group_id="")
        ExportTable.objects.create(export=export, name="note", cohort_result_source=source, cohort_result_subset=subset)
        three_hours_ago = timezone.now() - timedelta(hours=3)
        Export.objects.filter(pk=export.pk).update(created_at=three_hours_ago, modified_at=three_hours_ago)
        workflow.poll_exports()
        assert reload(export).request_job_status == "new"


class TestSubsets:
    @pytest.fixture
    def waiting_export(self, make_export, source):
        export = make_export()
        first, second = (
            cohort_of(source.dated_measure, status=JobStatus.PENDING, is_subset=True, group_id="") for _ in range(2)
        )
        ExportTable.objects.create(export=export, name="note", cohort_result_source=source, cohort_result_subset=first)
        ExportTable.objects.create(
            export=export, name="condition_occurrence", cohort_result_source=source, cohort_result_subset=second
        )
        return export, first, second

    def test_the_export_waits_for_every_subset(self, waiting_export, django_capture_on_commit_callbacks):
        export, first, second = waiting_export
        with django_capture_on_commit_callbacks(execute=True):
            end_job(first, JobStatus.FINISHED)
        assert reload(export).request_job_status == "new" and queued_tasks() == []
        with django_capture_on_commit_callbacks(execute=True):
            end_job(second, JobStatus.FINISHED)
        assert queued_tasks() == [("exports.tasks.launch_export", [str(export.pk)])]

    def test_a_failed_subset_fails_the_export(self, waiting_export, django_capture_on_commit_callbacks):
        export, first, _second = waiting_export
        with django_capture_on_commit_callbacks(execute=True):
            end_job(first, JobStatus.FAILED)
        failed = reload(export)
        assert (failed.request_job_status, failed.request_job_fail_msg) == ("failed", subsets.SUBSET_FAILED)
        assert subjects() == ["[Cohorte 123456] Votre demande d'export `My cohort` n'a pas abouti"]


class TestRetry:
    def test_a_failed_export_runs_again_from_its_first_step(self, make_export):
        export = make_export()
        with engine_in_use(ScriptedEngine(csv_script(JobStatus.FAILED))):
            workflow.launch(export.pk)
            workflow.advance(export.pk)
        creation.retry(reload(export))
        retried = reload(export)
        assert (retried.request_job_status, retried.retried, retried.request_job_fail_msg) == ("new", True, "")
        assert (retried.step, retried.request_job_id, retried.is_user_notified) == ("", "", False)
        with engine_in_use(ScriptedEngine(csv_script(JobStatus.FINISHED))):
            workflow.launch(export.pk)
            workflow.advance(export.pk)
        assert reload(export).request_job_status == "finished"

    def test_only_failed_exports_are_retried(self, make_export):
        export = make_export()
        with pytest.raises(creation.RetryRefused):
            creation.retry(export)
        assert reload(export).retried is False

    def test_files_past_their_retention_are_not_made_again(self, make_export, settings):
        settings.DAYS_TO_KEEP_EXPORTED_FILES = 7
        export = make_export(request_job_status=JobStatus.FAILED, request_job_fail_msg="boom")
        Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(days=8))
        with pytest.raises(creation.RetryRefused, match="older than 7 days"):
            creation.retry(reload(export))
        assert (reload(export).request_job_status, reload(export).retried) == ("failed", False)

    @pytest.fixture
    def export_with_failed_subset(self, make_export, source, owner):
        from cohort.models import FhirFilter

        export = make_export(request_job_status=JobStatus.FAILED, request_job_fail_msg=subsets.SUBSET_FAILED)
        fhir_filter = FhirFilter.objects.create(
            owner=owner, fhir_resource="Condition", fhir_version="4.0", name="diabetes", filter="code=E11"
        )
        failed = cohort_of(source.dated_measure, status=JobStatus.FAILED, is_subset=True, group_id="")
        table = ExportTable.objects.create(
            export=export,
            name="condition",
            cohort_result_source=source,
            fhir_filter=fhir_filter,
            cohort_result_subset=failed,
        )
        return export, table, failed

    def test_subsets_that_failed_are_made_again_and_awaited(
        self, export_with_failed_subset, django_capture_on_commit_callbacks
    ):
        export, table, failed = export_with_failed_subset
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            creation.retry(reload(export), auth={"authorization": "Bearer t"})
        table.refresh_from_db()
        remade = table.cohort_result_subset
        assert remade.pk != failed.pk and remade.is_subset
        assert (remade.name, remade.request_job_status) == ("condition_123456", "pending")
        assert reload(export).request_job_status == "new"
        assert len(callbacks) == 1  # the subset's creation, not the export's launch
        with django_capture_on_commit_callbacks(execute=True):
            end_job(remade, JobStatus.FINISHED)
        assert queued_tasks()[-1] == ("exports.tasks.launch_export", [str(export.pk)])

    def test_a_subset_whose_source_is_gone_cannot_be_made_again(self, export_with_failed_subset):
        export, table, _failed = export_with_failed_subset
        table.cohort_result_source.delete()
        with pytest.raises(creation.RetryRefused, match="`condition` table no longer exists"):
            creation.retry(reload(export))
        assert reload(export).request_job_status == "failed"


class TestCleanup:
    def test_expired_files_are_deleted_and_the_cleaner_carries_on_past_a_storage_error(
        self, make_export, django_capture_on_commit_callbacks, settings
    ):
        settings.DAYS_TO_KEEP_EXPORTED_FILES = 7
        old = timezone.now() - timedelta(days=8)
        broken, expired, recent = (make_export() for _ in range(3))
        Export.objects.update(request_job_status=JobStatus.FINISHED, is_user_notified=True)
        Export.objects.filter(pk__in=[broken.pk, expired.pk]).update(created_at=old)
        engine = ScriptedEngine()
        for export in (broken, expired, recent):
            engine.files.files[f"{export.target_full_path}.zip"] = b"zip"
        engine.files.broken.add(f"{broken.target_full_path}.zip")
        with engine_in_use(engine), django_capture_on_commit_callbacks(execute=True):
            assert cleanup.delete_expired_files() == (1, 1)
        assert engine.files.deleted == [f"{expired.target_full_path}.zip"]
        assert reload(expired).clean_datetime is not None
        assert reload(broken).clean_datetime is None and reload(recent).clean_datetime is None
        assert subjects() == ["[Cohorte 123456] Confirmation de suppression de fichiers exportés"]
        assert engine.files.closes == 1  # its connections closed once the round is done

    def test_a_file_already_gone_is_recorded_as_cleaned(self, make_export, django_capture_on_commit_callbacks):
        export = make_export(request_job_status=JobStatus.FINISHED, is_user_notified=True)
        Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(days=30))
        with engine_in_use(ScriptedEngine()), django_capture_on_commit_callbacks(execute=True):
            assert cleanup.delete_expired_files() == (1, 0)
        assert reload(export).clean_datetime is not None
        assert subjects() == ["[Cohorte 123456] Confirmation de suppression de fichiers exportés"]
        assert cleanup.delete_expired_files() == (0, 0)  # not tried again
