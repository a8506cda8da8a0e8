"""JSON responses through orjson, the encoder the WebSocket frames already use.

DRF's ``JSONRenderer`` goes through the standard library's encoder; on a 50-message history
page that was a tenth of the request (bench/README.md, history depth).
"""

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
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        # Lazy translations, Decimals and the like: as DRF's own encoder would write them.
        return orjson.dumps(data, default=_fallback.default)
