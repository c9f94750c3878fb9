"""The OpenAPI document states every bound msgspec enforces.

Litestar reads `msgspec.Meta` only on a struct's top-level fields, so the bounds of list items (`list[Tag]`), of
the arms of a union (`Name | UnsetType`) and of dict keys were missing from the document, and a client or a fuzzer
could not know them. This plugin applies the `Meta` found anywhere in an annotation to the schema made for it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.openapi.spec import Reference, Schema
from litestar.plugins import OpenAPISchemaPlugin

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

NUMERIC = {"gt": "exclusive_minimum", "ge": "minimum", "lt": "exclusive_maximum", "le": "maximum",
           "multiple_of": "multiple_of"}
ALIASES = {f.metadata.get("alias", f.name): f.name for f in dataclasses.fields(Schema)}


def _metas(field_definition: FieldDefinition) -> list[msgspec.Meta]:
    return [m for m in field_definition.metadata if isinstance(m, msgspec.Meta)]


def _fixed_tuple(field_definition: FieldDefinition) -> bool:
    return field_definition.origin is tuple and Ellipsis not in field_definition.args


def apply_meta(meta: msgspec.Meta, schema: Schema, *, container: str | None) -> None:
    """`container`: "array" or "object" when the annotated type is a list or a dict (lengths count items)."""
    for name, key in NUMERIC.items():
        if (value := getattr(meta, name)) is not None:
            setattr(schema, key, value)
    lengths = {"array": ("min_items", "max_items"), "object": ("min_properties", "max_properties")}
    low, high = lengths.get(container or "", ("min_length", "max_length"))
    if meta.min_length is not None:
        setattr(schema, low, meta.min_length)
    if meta.max_length is not None:
        setattr(schema, high, meta.max_length)
    if meta.pattern is not None:
        schema.pattern = meta.pattern
    if meta.description is not None:
        schema.description = meta.description
    for key, value in (meta.extra_json_schema or {}).items():  # e.g. the bounds of a decimal sent as a string
        setattr(schema, ALIASES.get(key, key), value)


class MsgspecMetaSchemaPlugin(OpenAPISchemaPlugin):
    """Any annotation carrying `msgspec.Meta`: the schema Litestar makes for the bare type, plus the Meta's bounds;
    a fixed-length tuple (`tuple[str, str]`) also states its length."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return bool(_metas(field_definition)) or (_fixed_tuple(field_definition) and not field_definition.metadata)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        metas = _metas(field_definition)
        if not metas:  # a fixed-length tuple: Litestar's prefixItems, and its length
            schema = schema_creator.for_object_type(field_definition)
            schema.min_items = schema.max_items = len(field_definition.args)
            return schema
        bare = dataclasses.replace(
            field_definition, metadata=tuple(m for m in field_definition.metadata if m not in metas)
        )
        result: Any = schema_creator.for_field_definition(bare)
        if isinstance(result, Reference):
            result = Schema(all_of=[result])
        container = "array" if bare.is_non_string_sequence else "object" if bare.is_mapping else None
        for meta in metas:
            apply_meta(meta, result, container=container)
        if container == "object" and bare.inner_types and _metas(bare.inner_types[0]):
            result.property_names = schema_creator.for_field_definition(bare.inner_types[0])  # the keys' bounds
        return result  # type: ignore[no-any-return]
