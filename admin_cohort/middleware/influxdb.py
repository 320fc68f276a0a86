from __future__ import annotations

import logging
import time

from django.conf import settings
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import WriteOptions

_logger = logging.getLogger("info")


class InfluxDBTimingMiddleware:
    """Writes each request's response time to InfluxDB (batched in the background, never blocking)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.client = InfluxDBClient(
            url=settings.INFLUXDB_URL, token=settings.INFLUXDB_DJANGO_TOKEN, org=settings.INFLUXDB_ORG, timeout=5000
        )
        self.write_api = self.client.write_api(
            write_options=WriteOptions(batch_size=200, flush_interval=1000, max_retries=2)
        )
        self.env = "dev_qua" if settings.DEBUG else "prod"

    def __call__(self, request):
        start = time.perf_counter_ns()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter_ns() - start) / 1e6
        try:
            point = (
                Point("django_requests")
                .tag("method", request.method)
                .tag("path", request.path)
                .tag("env", self.env)
                .field("response_time", float(elapsed_ms))
                .time(time.time_ns(), WritePrecision.NS)
            )
            self.write_api.write(bucket=settings.INFLUXDB_BUCKET, org=settings.INFLUXDB_ORG, record=point)
        except Exception:  # monitoring must never fail a request
            _logger.exception("Could not queue an InfluxDB point")
        return response
