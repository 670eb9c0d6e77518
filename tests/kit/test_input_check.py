"""The kit's input check: NUL characters named by field path, at any depth, in every kind of field."""

from __future__ import annotations

from google.protobuf import struct_pb2

from marketplace.catalog.v1 import catalog_pb2
from services.kit.input_check import (
    NUL_DESCRIPTION,
    NUL_KEY_DESCRIPTION,
    Undecodable,
    nul_violations,
    tolerant_deserializer,
)


def paths(message) -> dict[str, str]:
    return {item.field: item.description for item in nul_violations(message)}


def test_a_message_without_nul_has_no_violation():
    assert paths(catalog_pb2.GetProductRequest(id="x")) == {}
    assert paths(catalog_pb2.ListCategoriesRequest()) == {}


def test_a_singular_string_in_a_sub_message():
    request = catalog_pb2.CreateProductRequest(product=catalog_pb2.Product(title="A\u0000B"))
    assert paths(request) == {"product.title": NUL_DESCRIPTION}


def test_repeated_messages_are_named_by_index():
    items = [catalog_pb2.ReservationItem(product_id=value) for value in ("a", "b", "\u0000")]
    assert paths(catalog_pb2.ReserveStockRequest(items=items)) == {"items[2].product_id": NUL_DESCRIPTION}


def test_map_keys_and_values_are_named_by_key():
    product = catalog_pb2.Product(attributes={"color": "bl\u0000ue", "si\u0000ze": "l"})
    assert paths(catalog_pb2.CreateProductRequest(product=product)) == {
        'product.attributes["color"]': NUL_DESCRIPTION,
        'product.attributes["si\\u0000ze"]': NUL_KEY_DESCRIPTION,
    }


def test_repeated_strings_recursive_types_and_message_maps():
    deep = struct_pb2.Value(
        list_value=struct_pb2.ListValue(values=[struct_pb2.Value(), struct_pb2.Value(string_value="\u0000")])
    )
    message = struct_pb2.Struct(fields={"a": struct_pb2.Value(struct_value=struct_pb2.Struct(fields={"b": deep}))})
    assert paths(message) == {'fields["a"].struct_value.fields["b"].list_value.values[1].string_value': NUL_DESCRIPTION}


def test_every_offending_field_is_named():
    request = catalog_pb2.ListProductsRequest(
        filter=catalog_pb2.ProductFilter(brand="\u0000", category="\u0000"), page_token="\u0000"
    )
    assert set(paths(request)) == {"filter.brand", "filter.category", "page_token"}


def test_bytes_that_do_not_parse_become_undecodable():
    deserialize = tolerant_deserializer(catalog_pb2.GetProductRequest.FromString)
    assert deserialize(b"\x0a\x02\xff\xfe") == Undecodable("marketplace.catalog.v1.GetProductRequest")
    assert deserialize(catalog_pb2.GetProductRequest(id="x").SerializeToString()) == catalog_pb2.GetProductRequest(
        id="x"
    )
