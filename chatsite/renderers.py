"""JSON responses (and request bodies) through orjson, the encoder the WebSocket frames already use.

DRF's ``JSONRenderer`` goes through the standard library's encoder, ~8% of a history page's
time in a profile; end to end the change was within the noise (bench/README.md), and HTTP
and WebSocket now write JSON the same way. What orjson does not know (lazy translations,
Decimals) and datetimes go through DRF's own encoder, so the output is DRF's.
"""

from collections.abc import Mapping
from typing import Any

import orjson
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_fallback = JSONEncoder()


class ORJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_fallback.default, option=orjson.OPT_PASSTHROUGH_DATETIME)


class ORJSONParser(JSONParser):
    """JSON request bodies through orjson: as DRF's, but a document nested deeper than 1,024
    levels is a ``ParseError`` (400) where the standard library's parser recursed until it
    raised ``RecursionError`` (a 500)."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(gettext("JSON parse error - %(exc)s") % {"exc": exc}) from exc
