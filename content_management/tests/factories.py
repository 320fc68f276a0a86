from __future__ import annotations

from datetime import datetime

import factory

from content_management.models import Content, ContentMetadata


class ContentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Content

    title = factory.Sequence(lambda n: f"Content {n}")
    content = "Texte **markdown**"
    page = "accueil"
    content_type = "BANNER_INFO"


def with_metadata(content: Content, **metadata: str) -> Content:
    ContentMetadata.objects.bulk_create(
        ContentMetadata(content=content, name=name, value=value) for name, value in metadata.items()
    )
    return content


def created_at(content: Content, moment: datetime) -> Content:
    """`created_at` is stamped on insert (auto_now_add); tests that need a given order move it afterwards."""
    Content.objects.filter(pk=content.pk).update(created_at=moment)
    content.refresh_from_db()
    return content
