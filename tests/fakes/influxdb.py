"""A fake InfluxDB 2 write endpoint (`POST /api/v2/write`), recording the line protocol it receives."""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from tests.fakes.http_server import FakeServer, RecordedRequest, Reply


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, str]
    timestamp: int | None


def parse_line(line: str) -> Point:
    """Line protocol without escaped separators, which is all the backend writes."""
    series, fields, *timestamp = line.split(" ")
    measurement, *tags = series.split(",")
    return Point(
        measurement=measurement,
        tags=dict(tag.split("=", 1) for tag in tags),
        fields=dict(field.split("=", 1) for field in fields.split(",")),
        timestamp=int(timestamp[0]) if timestamp else None,
    )


class FakeInfluxDB(FakeServer):
    def __init__(self, status: int = 204) -> None:
        super().__init__()
        self.reply("POST", "/api/v2/write", Reply(status=status))

    @property
    def writes(self) -> list[RecordedRequest]:
        return self.requests_to("/api/v2/write", method="POST")

    @property
    def points(self) -> list[Point]:
        points = []
        for request in self.writes:
            body = request.body
            if request.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            points += [parse_line(line) for line in body.decode().splitlines() if line.strip()]
        return points
