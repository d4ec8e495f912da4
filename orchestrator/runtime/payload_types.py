"""Temporal's data converter, with each dataclass's field types resolved once per process instead of on every decode.

Temporal's JSON converter (temporalio 1.35, `value_to_type`) calls `typing.get_type_hints` for
every dataclass value it decodes. A cohort's batch carries hundreds of requests, each a few
dataclasses deep (a send request holds its step and the journey's settings), so a worker spent
about a fifth of its time resolving the same hints again (bench/broadcast.py, `--mode stack`).
`CachedDataclassTypes` is the converter's own extension point for a type (a `JSONTypeConverter`):
it decodes a dataclass exactly as Temporal does (every field present converted by its hint, missing
ones left to the class's defaults, unknown keys ignored, `init=False` fields set after), with the
hints of each class read once. What is written to histories does not change: only decoding does.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)

__all__ = ["JOURNEY_DATA_CONVERTER", "CachedDataclassTypes", "JourneyPayloadConverter"]


class CachedDataclassTypes(JSONTypeConverter):
    """Decodes dataclasses as Temporal's `value_to_type` does, resolving each class's type hints once."""

    def __init__(self) -> None:
        self._fields: dict[type, tuple[_Field, ...]] = {}

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict)):
            return JSONTypeConverter.Unhandled  # Temporal's own rules (and its errors for a non-dict)
        init_values: dict[str, Any] = {}
        later: dict[str, Any] = {}
        for name, field_hint, init, plain in self._fields_of(hint):
            if name not in value:
                continue
            raw = value[name]
            try:
                # A value Temporal would return as it is (a str for a str, None in an optional): skip its checks.
                converted = raw if type(raw) in plain else value_to_type(field_hint, raw, [self])
            except Exception as err:
                raise TypeError(f"Failed converting field {name} on dataclass {hint}") from err
            (init_values if init else later)[name] = converted
        decoded = hint(**init_values)
        for name, converted in later.items():
            object.__setattr__(decoded, name, converted)
        return decoded

    def _fields_of(self, cls: type) -> tuple[_Field, ...]:
        known = self._fields.get(cls)
        if known is None:
            hints = typing.get_type_hints(cls)
            known = self._fields[cls] = tuple(_Field(f.name, hints[f.name], f.init, _plain(hints[f.name])) for f in dataclasses.fields(cls))
        return known


class _Field(typing.NamedTuple):
    name: str
    hint: Any
    init: bool
    plain: frozenset[type]
    """The JSON value types Temporal returns unchanged for this hint."""


def _plain(hint: Any) -> frozenset[type]:
    """The JSON value types `value_to_type(hint, v)` returns unchanged: `str` for str, `NoneType` in an optional, all for Any.

    Only hints made of str, int, float, bool and None, and only exact types: an int for a float is
    converted, and a bool is not taken as itself where an int or float option could take it first."""
    if hint is Any:
        return frozenset({str, int, float, bool, type(None)})
    options = set(typing.get_args(hint)) if typing.get_origin(hint) in (typing.Union, types.UnionType) else {hint}
    if not options <= {str, int, float, bool, type(None)}:
        return frozenset()
    if options & {int, float}:
        options.discard(bool)
    return frozenset(options)


class JourneyPayloadConverter(CompositePayloadConverter):
    """Temporal's default payload converters, the JSON one decoding dataclasses through `CachedDataclassTypes`."""

    def __init__(self) -> None:
        defaults = DefaultPayloadConverter.default_encoding_payload_converters
        super().__init__(
            *(
                JSONPlainPayloadConverter(custom_type_converters=[CachedDataclassTypes()])
                if isinstance(converter, JSONPlainPayloadConverter)
                else converter
                for converter in defaults
            )
        )


JOURNEY_DATA_CONVERTER = dataclasses.replace(DataConverter.default, payload_converter_class=JourneyPayloadConverter)
"""What every process of the deployment talks to Temporal with (the payload codec, where there is one, is added on top)."""
