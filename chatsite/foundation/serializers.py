"""Wire pieces every app's serializers share: the contract's time field and the error object.

The apps' wire objects are ``serializers.Serializer`` classes: their declared fields are the
definition (the OpenAPI schema is generated from them), and the hot ones override
``to_representation`` with the same mapping written out flat (tests hold the two equal).
"""

from datetime import datetime
from typing import Any

from rest_framework import serializers

from chatsite.foundation.codes import Code
from chatsite.foundation.wire import iso


class Timestamp(serializers.DateTimeField):
    """A time as the contract writes it (``iso``): UTC with milliseconds, ``…T10:01:02.123Z``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: datetime) -> str:
        # DRF writes a null attribute as null without asking the field: ``value`` is a time.
        return iso(value) or ""


class ErrorSerializer(serializers.Serializer[Any]):
    """The ``error`` object: every 4xx/5xx body of the API and the inside of an ``error`` frame.

    Built by ``ChatError.as_dict`` and ``errors.exception_handler``; this declares its shape
    for the schema, and a test checks the handler's bodies against these fields.
    """

    code = serializers.CharField(
        help_text="Machine-readable: " + ", ".join(code.value for code in Code) + " (and DRF's)."
    )
    detail = serializers.CharField(help_text="For people; not to be parsed.")
    retry_after = serializers.IntegerField(
        required=False, help_text="Seconds to wait before trying again (rate limits)."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # ``fields`` names a Serializer attribute, so it cannot be declared on the class.
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            required=False, help_text="Invalid input: the errors of each field, by name."
        )
        return fields
