"""The OpenAPI document generated from the contracts: valid OpenAPI 3.1, one operation per REST binding of a
routed RPC (and none for internal RPCs), and the contracts' rules as schema constraints."""

from __future__ import annotations

from typing import Any

import yaml
from openapi_spec_validator import validate

from services.edge import contracts
from services.edge.render import served_services
from services.edge.settings import OPENAPI_PATH


def load() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text())
    return document


def test_the_document_is_valid_openapi() -> None:
    validate(load())


def test_every_rest_binding_has_an_operation_and_nothing_else_does() -> None:
    document = load()
    found = contracts.rpcs(contracts.load_descriptor_set(), served_services())
    expected = {(binding.verb.lower(), binding.path) for rpc in found if not rpc.internal for binding in rpc.bindings}
    documented = {(verb, path) for path, item in document["paths"].items() for verb in item}
    assert documented == expected
    operations = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    for rpc in found:
        if rpc.internal:
            assert not any(name.endswith(f"_{rpc.name}") for name in operations if name.startswith(rpc.service_name))
        elif rpc.bindings:
            operation = operations[f"{rpc.service_name}_{rpc.name}"]
            assert operation["summary"], rpc.name
            assert (operation["security"] == []) == rpc.public, rpc.name


def test_rules_and_comments_become_schema() -> None:
    schemas = load()["components"]["schemas"]
    register = schemas["marketplace.auth.v1.RegisterRequest"]["properties"]
    assert register["password"]["minLength"] == 10 and register["password"]["maxLength"] == 128
    assert register["username"]["pattern"] == "^[a-z0-9_.]{3,32}$"
    assert register["email"]["format"] == "email"
    assert register["email"]["description"] == "The sign-in email address."
    money = schemas["marketplace.common.v1.Money"]["properties"]
    assert money["currencyCode"]["pattern"] == "^[A-Z]{3}$"
    assert money["units"]["type"] == "string"  # int64 in proto3 JSON
    add = schemas["marketplace.cart.v1.AddCartItemRequest"]
    assert add["properties"]["quantity"]["minimum"] == 1
    watch = load()["paths"]["/v1/products/{id}:watch"]["get"]
    assert "application/x-ndjson" in watch["responses"]["200"]["content"]
    assert schemas["marketplace.catalog.v1.ProductStatus"]["type"] == "string"
