"""JSON responses through orjson, the encoder the WebSocket frames already use.

DRF's ``JSONRenderer`` goes through the standard library's encoder, ~8% of a history page's
time in a profile; end to end the change was within the noise (bench/README.md), and HTTP
and WebSocket now write JSON the same way. What orjson does not know (lazy translations,
Decimals) and datetimes go through DRF's own encoder, so the output is DRF's.
"""

from collections.abc import Mapping
from typing import Any

import orjson
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
