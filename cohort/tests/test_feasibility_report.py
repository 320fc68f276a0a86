"""The feasibility report (spec 02 §8.2): reporting tree, bucketed counts, escaped names, zipped contents."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from accesses.models import Perimeter
from accesses.services.perimeter_tree import rebuild_closure
from cohort.models import FeasibilityStudy, Folder, Request, RequestQuerySnapshot
from cohort.services import feasibility_report
from cohort.tests.builders import query_on
from tests.factories import PerimeterFactory, UserFactory

REPORTING_TYPES = ["Groupe hospitalier (GH)", "Hôpital"]
# Perimeter cohort ids of the tree below (the QueryExecutor wants integers).
ROOT, GH_NORD, BICHAT, UF, GH_SUD, POLE, HIDDEN = "8000", "8001", "8002", "8003", "8004", "8005", "8006"
COHORT_IDS = {
    "root": ROOT,
    "gh_nord": GH_NORD,
    "bichat": BICHAT,
    "uf": UF,
    "gh_sud": GH_SUD,
    "pole": POLE,
    "hidden": HIDDEN,
}


def build_reporting_tree() -> dict[str, Perimeter]:
    """AP-HP ── GH Nord ── Hôpital Bichat ── UF Cardio (not a reporting type)
    ├─ GH Sud <b> & "co" (a name to escape)
    └─ Pôle Support (not a reporting type) ── Hôpital Hidden (under an excluded parent)
    """
    root = PerimeterFactory(name="AP-HP", type_source_value="AP-HP", level=1, cohort_id=ROOT)
    nodes = {"root": root}

    def child(key: str, parent: str, name: str, kind: str) -> None:
        nodes[key] = PerimeterFactory(
            name=name,
            type_source_value=kind,
            parent=nodes[parent],
            level=nodes[parent].level + 1,
            cohort_id=COHORT_IDS[key],
        )

    child("gh_nord", "root", "GH Nord", "Groupe hospitalier (GH)")
    child("bichat", "gh_nord", "Hôpital Bichat", "Hôpital")
    child("uf", "bichat", "UF Cardio", "Unité Fonctionnelle (UF)")
    child("gh_sud", "root", 'GH Sud <b> & "co"', "Groupe hospitalier (GH)")
    child("pole", "root", "Pôle Support", "Pôle/DMU")
    child("hidden", "pole", "Hôpital Hidden", "Hôpital")
    rebuild_closure()
    return nodes


def study_of(owner, *, request_name: str = "Diabetes study", created_at: datetime | None = None) -> FeasibilityStudy:
    folder = Folder.objects.create(owner=owner, name="Folder")
    request = Request.objects.create(owner=owner, name=request_name, parent_folder=folder)
    snapshot = RequestQuerySnapshot.objects.create(
        owner=owner, request=request, serialized_query=query_on(BICHAT), version=3
    )
    study = FeasibilityStudy.objects.create(owner=owner, request_query_snapshot=snapshot, request_job_status="started")
    if created_at is not None:
        FeasibilityStudy.objects.filter(pk=study.pk).update(created_at=created_at)
        study.refresh_from_db()
    return study


def unzip(archive: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in opened.infolist())
        return {name: opened.read(name).decode() for name in opened.namelist()}


@pytest.fixture
def reporting_types(settings):
    settings.REPORTING_PERIMETER_TYPES = REPORTING_TYPES


@pytest.fixture
def tree(db, reporting_types):
    return build_reporting_tree()


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, "0"), (1, "< 10"), (9, "< 10"), (10, "10-20"), (25, "20-30"), (99, "90-100"), (100, "100-110"), (-1, "-1")],
)
def test_small_numbers_are_bucketed(count, shown):
    assert feasibility_report.bucket(count) == shown


class TestReportingTree:
    def test_the_tree_follows_reporting_types_from_the_root(self, tree):
        root = feasibility_report.reporting_tree()
        assert root.cohort_id == ROOT
        assert [child.cohort_id for child in root.children] == [GH_NORD, GH_SUD]
        [nord, sud] = root.children
        assert [child.cohort_id for child in nord.children] == [BICHAT]
        assert nord.children[0].children == []  # a UF is not a reporting type
        assert sud.children == []

    def test_without_reporting_types_only_the_root_is_reported(self, db, settings):
        settings.REPORTING_PERIMETER_TYPES = []
        build_reporting_tree()
        root = feasibility_report.reporting_tree()
        assert (root.cohort_id, root.children) == (ROOT, [])

    def test_soft_deleted_perimeters_are_left_out(self, tree):
        tree["gh_sud"].delete()
        assert [child.cohort_id for child in feasibility_report.reporting_tree().children] == [GH_NORD]


class TestReportContents:
    def test_json_is_the_flat_bucketed_counts_of_the_included_perimeters(self, tree, owner):
        study = study_of(owner, created_at=datetime(2026, 1, 12, 10, 0, tzinfo=UTC))
        counts = {ROOT: 1234, GH_NORD: 25, BICHAT: 7, UF: 500, HIDDEN: 40}
        report = feasibility_report.build_report(study, counts)
        [(name, content)] = unzip(report.json_zip).items()
        assert name == "Rapport_12-01-2026_Diabetes study....json"
        assert json.loads(content) == {
            ROOT: "1230-1240",
            GH_NORD: "20-30",
            BICHAT: "< 10",
            GH_SUD: "0",  # absent from the callback
        }

    def test_html_nests_the_tree_escapes_names_and_shows_the_request(self, tree, owner, settings):
        settings.FRONTEND_URL = "https://cohort360.example.org"
        study = study_of(owner, request_name="Diabète <b>type 2</b>")
        report = feasibility_report.build_report(study, {ROOT: 15, BICHAT: 12})
        [(name, page)] = unzip(report.html_zip).items()
        assert name.endswith(".html")
        assert "GH Sud &lt;b&gt; &amp; &quot;co&quot;" in page
        assert "<b>" not in page
        assert "Diabète &lt;b&gt;type 2&lt;/b&gt;" in page and "<b>type 2</b>" not in page
        snapshot = study.request_query_snapshot
        assert f'href="https://cohort360.example.org/cohort/new/{snapshot.request_id}"' in page
        assert "Version :</dt><dd>3</dd>" in page
        assert timezone.localtime(snapshot.created_at).strftime("%d/%m/%Y") in page
        nord = (
            '<li class="item"><input type="checkbox" id="p8001"><div class="label-count">'
            '<label for="p8001">GH Nord</label><span id="count_p8001">0</span></div>'
            '<ul class="perimeters-tree"><li class="item"><input type="checkbox" id="p8002">'
            '<div class="label-count"><label for="p8002">Hôpital Bichat</label>'
            '<span id="count_p8002">10-20</span></div></li></ul></li>'
        )
        assert nord in page
        assert '<ul class="perimeters-tree"><li class="item"><input type="checkbox" id="p8000">' in page
        assert '<span id="count_p8000">10-20</span>' in page
        assert "UF Cardio" not in page and "Hôpital Hidden" not in page

    def test_without_a_root_perimeter_no_report_can_be_built(self, db, owner, reporting_types):
        with pytest.raises(ValueError, match="no root"):
            feasibility_report.build_report(study_of(owner), {ROOT: 1})


class TestFileName:
    @pytest.mark.parametrize(
        ("request_name", "expected"),
        [
            ("Diabetes", "Rapport_05-03-2026_Diabetes..."),
            ("  Patients  with   type 2 diabetes over 60 ", "Rapport_05-03-2026_Patients with type 2..."),
            ('Diabète 1/2 "urgent"', "Rapport_05-03-2026_Diabète 1_2 _urgent_..."),
        ],
    )
    def test_the_first_four_words_of_the_request_name(self, db, owner, request_name, expected):
        study = study_of(owner, request_name=request_name, created_at=datetime(2026, 3, 5, 23, 0, tzinfo=UTC))
        assert feasibility_report.report_file_name(study) == expected
