"""The fixed configuration of web contents: their types and the metadata names they may carry."""

from __future__ import annotations

CONTENT_TYPES: dict[str, dict[str, str]] = {
    "BANNER_WARNING": {"label": "Bannière d'avertissement", "description": "Bannière d'avertissement"},
    "BANNER_INFO": {"label": "Bannière d'information", "description": "Bannière d'information"},
    "BANNER_ERROR": {"label": "Bannière d'erreur", "description": "Bannière d'erreur"},
    "RELEASE_NOTE": {"label": "Note de version", "description": "Note de version"},
}
CONTENT_TYPE_CHOICES = [(key, value["label"]) for key, value in CONTENT_TYPES.items()]
INVALID_CONTENT_TYPE_MESSAGE = f"Invalid content type. Available types are: {', '.join(CONTENT_TYPES)}"

METADATA_NAMES = ("order", "style", "tags")
