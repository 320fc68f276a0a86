"""GET /webcontent/contents/ (WEB-1), /{id}/ and /content_types/ (WEB-2): public reads, filters, pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from content_management.models import Content
from content_management.tests.factories import ContentFactory, created_at, with_metadata

pytestmark = pytest.mark.django_db
URL = "/webcontent/contents/"
CONTENT_KEYS = {
    "id",
    "title",
    "content",
    "page",
    "content_type",
    "content_type_display",
    "metadata",
    "created_at",
    "modified_at",
    "deleted_at",
}


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["results"]]


@pytest.fixture
def contents(db) -> dict[str, Content]:
    """One content per type, created a day apart (oldest first), plus a deleted one."""
    now = timezone.now()
    specs = [
        ("Alpha warning", "BANNER_WARNING", "accueil"),
        ("Bravo info", "BANNER_INFO", "accueil"),
        ("Charlie error", "BANNER_ERROR", "blog"),
        ("Delta release", "RELEASE_NOTE", "news"),
    ]
    made = {}
    for days_ago, (title, content_type, page) in zip(range(len(specs), 0, -1), specs, strict=True):
        content = ContentFactory(title=title, content_type=content_type, page=page)
        made[title] = created_at(content, now - timedelta(days=days_ago))
    made["deleted"] = ContentFactory(title="Echo deleted", content_type="BANNER_INFO", deleted_at=now)
    return made


class TestAccess:
    @pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer null", "HTTP_AUTHORIZATIONMETHOD": "JWT"}])
    def test_anonymous_reads_everything(self, anonymous, contents, headers):
        bravo = contents["Bravo info"]
        assert anonymous.get(URL, **headers).status_code == 200
        assert anonymous.get(f"{URL}{bravo.id}/", **headers).status_code == 200
        assert anonymous.get(f"{URL}content_types/", **headers).status_code == 200

    def test_authenticated_user_reads(self, user_client, contents):
        assert len(titles(user_client.get(URL))) == 4
        assert user_client.get(f"{URL}{contents['Bravo info'].id}/").status_code == 200

    def test_router_root_needs_authentication(self, anonymous, user_client):
        assert anonymous.get("/webcontent/").status_code == 403
        assert user_client.get("/webcontent/").status_code == 200


class TestList:
    def test_home_page_banners_as_cohort360_asks_for_them(self, anonymous, contents):
        with_metadata(contents["Bravo info"], order="2", style="dark")
        response = anonymous.get(f"{URL}?ordering=-created_at&content_type=BANNER_WARNING,BANNER_ERROR,BANNER_INFO")
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 3 and body["next"] is None
        assert [c["title"] for c in body["results"]] == ["Charlie error", "Bravo info", "Alpha warning"]
        bravo = body["results"][1]
        assert set(bravo) == CONTENT_KEYS
        assert bravo["metadata"] == {"order": "2", "style": "dark"}
        assert bravo["content_type"] == "BANNER_INFO"
        assert bravo["content_type_display"] == "Bannière d'information"
        assert bravo["page"] == "accueil" and bravo["content"] == "Texte **markdown**"
        assert bravo["deleted_at"] is None
        assert body["results"][0]["metadata"] == {}

    def test_default_order_is_newest_first_and_deleted_contents_are_hidden(self, anonymous, contents):
        assert titles(anonymous.get(URL)) == ["Delta release", "Charlie error", "Bravo info", "Alpha warning"]

    @pytest.mark.parametrize(
        ("ordering", "expected"),
        [
            ("title", ["Alpha warning", "Bravo info", "Charlie error", "Delta release"]),
            ("-title", ["Delta release", "Charlie error", "Bravo info", "Alpha warning"]),
            ("created_at", ["Alpha warning", "Bravo info", "Charlie error", "Delta release"]),
        ],
    )
    def test_ordering(self, anonymous, contents, ordering, expected):
        assert titles(anonymous.get(f"{URL}?ordering={ordering}")) == expected

    def test_ordering_by_modification(self, anonymous, contents):
        Content.objects.filter(pk=contents["Charlie error"].pk).update(modified_at=timezone.now() + timedelta(1))
        assert titles(anonymous.get(f"{URL}?ordering=-modified_at"))[0] == "Charlie error"

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("content_type=BANNER_ERROR", {"Charlie error"}),
            ("content_type=RELEASE_NOTE", {"Delta release"}),
            ("content_type=BANNER_INFO,BANNER_WARNING,BANNER_ERROR", {"Alpha warning", "Bravo info", "Charlie error"}),
            ("content_type=BANNER_INFO,NOT_A_TYPE", {"Bravo info"}),
            ("content_type=NOT_A_TYPE", set()),
            ("content_type=NOT_A_TYPE,ANOTHER_ONE_MUCH_LONGER_THAN_TWENTY", set()),
            ("content_type=", {"Alpha warning", "Bravo info", "Charlie error", "Delta release"}),
            ("page_source=blog", {"Charlie error"}),
            ("page_source=blog,news", {"Charlie error", "Delta release"}),
            ("page_source=nowhere", set()),
            ("page=accueil", {"Alpha warning", "Bravo info"}),
            ("page=accueil&content_type=BANNER_WARNING", {"Alpha warning"}),
            ("page=acc", set()),
            ("page=²", set()),
        ],
    )
    def test_filters(self, anonymous, contents, query, expected):
        assert set(titles(anonymous.get(f"{URL}?{query}"))) == expected

    @pytest.mark.parametrize(
        ("search", "expected"),
        [
            ("bravo", {"Bravo info"}),
            ("^(alpha|delta)", {"Alpha warning", "Delta release"}),
            ("error$", {"Charlie error"}),
            ("MARKDOWN", {"Alpha warning", "Bravo info", "Charlie error", "Delta release"}),
            ("nothing.matches", set()),
        ],
    )
    def test_search_is_a_case_insensitive_regex_on_title_and_content(self, anonymous, contents, search, expected):
        assert set(titles(anonymous.get(URL, {"search": search}))) == expected

    @pytest.mark.parametrize(
        "query",
        [
            {"search": "(unclosed"},
            {"search": "a**"},
            {"search": "[z-a]"},
            {"ordering": "content"},
            {"ordering": "-deleted_at"},
            {"content_type": "BANNER\x00INFO"},
            {"page_source": "blog\x00"},
        ],
    )
    def test_bad_query_parameters_give_400(self, anonymous, contents, query):
        response = anonymous.get(URL, query)
        assert response.status_code == 400, response.content

    def test_invalid_regex_error_names_the_parameter(self, anonymous):
        response = anonymous.get(URL, {"search": "(unclosed"})
        assert list(response.json()) == ["search"]
        assert response.json()["search"][0].startswith("Invalid regular expression")

    def test_pages_of_twenty(self, anonymous):
        for _ in range(23):
            ContentFactory()
        first = anonymous.get(URL).json()
        assert first["count"] == 23 and len(first["results"]) == 20
        assert first["next"].endswith("/webcontent/contents/?page=2")
        second = anonymous.get(f"{URL}?page=2&page_size=50").json()
        assert len(second["results"]) == 3 and second["previous"] is not None
        assert {c["id"] for c in first["results"]}.isdisjoint(c["id"] for c in second["results"])
        assert anonymous.get(f"{URL}?page=3").status_code == 404

    def test_page_name_filter_returns_the_first_result_page(self, anonymous):
        for _ in range(21):
            ContentFactory(page="blog")
        body = anonymous.get(f"{URL}?page=blog").json()
        assert body["count"] == 21 and len(body["results"]) == 20

    def test_query_count_does_not_grow_with_contents(self, admin_client, django_assert_max_num_queries):
        for index in range(25):
            with_metadata(ContentFactory(), order=str(index), style="dark", tags="a,b")
        with django_assert_max_num_queries(8):
            response = admin_client.get(f"{URL}?ordering=-created_at&content_type=BANNER_INFO")
        results = response.json()["results"]
        assert len(results) == 20 and all(len(c["metadata"]) == 3 for c in results)


@pytest.mark.django_db(transaction=True)
def test_regex_that_only_postgresql_refuses_gives_400(anonymous):
    ContentFactory(title="abc")
    response = anonymous.get(URL, {"search": "(?P<name>abc)"})
    assert response.status_code == 400, response.content


class TestRetrieve:
    def test_shape(self, anonymous, contents):
        content = with_metadata(contents["Delta release"], tags="v3")
        body = anonymous.get(f"{URL}{content.id}/").json()
        assert set(body) == CONTENT_KEYS
        assert body["id"] == content.id and body["metadata"] == {"tags": "v3"}
        assert body["content_type_display"] == "Note de version"
        assert body["created_at"].endswith("Z")

    @pytest.mark.parametrize("key", ["deleted", "unknown", "not-a-number"])
    def test_deleted_unknown_or_malformed_ids_give_404(self, anonymous, contents, key):
        content_id = {"deleted": contents["deleted"].id, "unknown": 987654, "not-a-number": "abc"}[key]
        assert anonymous.get(f"{URL}{content_id}/").status_code == 404


class TestContentTypes:
    def test_the_type_table(self, anonymous):
        response = anonymous.get(f"{URL}content_types/")
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["BANNER_WARNING", "BANNER_INFO", "BANNER_ERROR", "RELEASE_NOTE"]
        assert body["RELEASE_NOTE"] == {"label": "Note de version", "description": "Note de version"}
        assert all(set(entry) == {"label", "description"} for entry in body.values())
