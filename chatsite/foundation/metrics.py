"""Prometheus metrics of this process (``/metrics``); scrape each process, not the proxy."""

import os
import socket

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

registry = CollectorRegistry()

Info("chat_process", "This server process.", registry=registry).info(
    {"host": socket.gethostname(), "pid": str(os.getpid())}
)
connections_open = Gauge("chat_connections_open", "Open WebSockets.", registry=registry)
connections_total = Counter("chat_connections", "WebSockets accepted.", registry=registry)
closes_total = Counter(
    "chat_closes", "WebSockets closed by the server, by code.", ["code"], registry=registry
)
joins_total = Counter("chat_joins", "Room joins.", registry=registry)
messages_sent_total = Counter(
    "chat_messages_sent", "Messages stored from this process.", registry=registry
)
deliveries_total = Counter(
    "chat_deliveries", "Frames handed to local connections by the fan-out.", registry=registry
)
refusals_total = Counter(
    "chat_refusals", "Refused requests, by error code.", ["code"], registry=registry
)
send_seconds = Histogram(
    "chat_send_seconds",
    "From a send frame to its ack (rate limit, storage, commit).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=registry,
)
send_group_size = Histogram(
    "chat_send_group_size",
    "WebSocket sends stored together in one transaction (group commit).",
    buckets=(1, 2, 5, 10, 20, 50, 100),
    registry=registry,
)
heap_blocks = Gauge(
    "chat_heap_blocks",
    "Small-object heap blocks in use (sys.getallocatedblocks) at the last GC tick.",
    registry=registry,
)
gc_full_collection_seconds = Histogram(
    "chat_gc_full_collection_seconds",
    "Full garbage collections that free what closed sockets left in cycles.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=registry,
)


def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
