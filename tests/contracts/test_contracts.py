"""The contracts in proto/ follow the project's rules (DESIGN §3–§4), for every service in the descriptor set.

The checks live in tests/contracts/rules.py. Each rule is tested twice: on the real descriptor set (it must
hold) and on an in-memory copy broken on purpose (the check must notice), so a check that silently stops
checking fails too.
"""

from __future__ import annotations

from collections.abc import Callable

import protovalidate
import pytest
from google.protobuf import descriptor_pb2, field_mask_pb2
from google.protobuf.message import Message
from google.type import date_pb2  # type: ignore[import-untyped]

from marketplace.buddy.v1 import buddy_pb2
from marketplace.common.v1 import access_pb2
from marketplace.notify.v1 import notify_pb2
from marketplace.seller.v1 import seller_pb2
from tests.contracts import rules

# The RPCs of the DESIGN §4 table: public ones, then internal ones (no REST route; ACCESS_INTERNAL, or
# `internal_only` for auth's IssueServiceToken, which services call before they have a token).
DESIGN_RPCS: dict[str, tuple[list[str], list[str]]] = {
    "auth": (
        [
            "Register",
            "Login",
            "RefreshToken",
            "Logout",
            "GetMe",
            "UpdateMe",
            "ChangePassword",
            "RequestPasswordReset",
            "ResetPassword",
            "ListAddresses",
            "CreateAddress",
            "UpdateAddress",
            "DeleteAddress",
            "GetJwks",
            "ListUsers",
            "SetUserRole",
        ],
        ["IssueServiceToken", "ExchangeToken", "EnsureSeller"],
    ),
    "catalog": (
        [
            "CreateProduct",
            "GetProduct",
            "UpdateProduct",
            "DeleteProduct",
            "ListProducts",
            "SearchProducts",
            "ListMyProducts",
            "AddProductImage",
            "DeleteProductImage",
            "AdjustStock",
            "ListCategories",
            "WatchProduct",
        ],
        ["ReserveStock", "ReleaseReservation", "CommitReservation", "GetVariants"],
    ),
    "cart": (["GetCart", "AddCartItem", "UpdateCartItem", "RemoveCartItem", "ClearCart"], ["GetCartLines"]),
    "order": (
        [
            "CreateOrder",
            "GetOrder",
            "ListOrders",
            "CancelOrder",
            "UpdateShippingAddress",
            "ShipOrder",
            "MarkDelivered",
            "WatchOrder",
        ],
        ["GetOrderSummary"],
    ),
    "payment": (["CreatePayment", "GetPayment", "ConfirmPayment", "RefundPayment", "HandleStripeWebhook"], []),
    "notify": (["ListNotifications", "GetPreferences", "UpdatePreferences"], []),
    "seller": (["GetDashboard", "ListSellerOrders", "GetSalesSeries"], []),
    "buddy": (["Chat", "Ask", "ListConversations", "GetConversation", "DeleteConversation"], []),
}

# Streaming RPCs of the table: (client streaming, server streaming).
DESIGN_STREAMING: dict[str, tuple[bool, bool]] = {
    "catalog.WatchProduct": (False, True),
    "order.WatchOrder": (False, True),
    "buddy.Chat": (True, True),
    "buddy.Ask": (False, True),
}


@pytest.fixture(scope="module")
def descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    return rules.load_descriptor_set()


def broken(
    descriptor_set: descriptor_pb2.FileDescriptorSet, break_it: Callable[[descriptor_pb2.FileDescriptorSet], None]
) -> descriptor_pb2.FileDescriptorSet:
    copy = descriptor_pb2.FileDescriptorSet()
    copy.CopyFrom(descriptor_set)
    break_it(copy)
    return copy


def file_named(descriptor_set: descriptor_pb2.FileDescriptorSet, name: str) -> descriptor_pb2.FileDescriptorProto:
    return next(file for file in descriptor_set.file if file.name == name)


def method_named(
    descriptor_set: descriptor_pb2.FileDescriptorSet, service: str, name: str
) -> descriptor_pb2.MethodDescriptorProto:
    file = file_named(descriptor_set, f"marketplace/{service}/v1/{service}.proto")
    return next(method for svc in file.service for method in svc.method if method.name == name)


def message_named(
    descriptor_set: descriptor_pb2.FileDescriptorSet, service: str, name: str
) -> descriptor_pb2.DescriptorProto:
    file = file_named(descriptor_set, f"marketplace/{service}/v1/{service}.proto")
    return next(message for message in file.message_type if message.name == name)


def field_named(message: descriptor_pb2.DescriptorProto, name: str) -> descriptor_pb2.FieldDescriptorProto:
    return next(field for field in message.field if field.name == name)


# 1. Every RPC declares its access rule. --------------------------------------------------------------------


def test_every_rpc_declares_an_access_rule(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    assert list(rules.methods(descriptor_set)), "no marketplace service found in the descriptor set"
    assert rules.missing_access_rules(descriptor_set) == []


def test_an_rpc_without_access_rule_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def drop_rule(copy: descriptor_pb2.FileDescriptorSet) -> None:
        method_named(copy, "buddy", "Ask").options.ClearExtension(rules.ACCESS_RULE)

    problems = rules.missing_access_rules(broken(descriptor_set, drop_rule))

    assert problems == ["marketplace.buddy.v1.BuddyService.Ask: no (marketplace.common.v1.rule) option"]


# 2. Public RPCs have a REST route, internal ones none. -----------------------------------------------------


def test_public_rpcs_have_http_rules_and_internal_ones_none(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
) -> None:
    assert rules.http_rule_problems(descriptor_set) == []


def test_a_public_rpc_without_http_rule_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def drop_http(copy: descriptor_pb2.FileDescriptorSet) -> None:
        method_named(copy, "notify", "ListNotifications").options.ClearExtension(rules.HTTP_RULE)

    problems = rules.http_rule_problems(broken(descriptor_set, drop_http))

    assert problems == [
        "marketplace.notify.v1.NotifyService.ListNotifications: public RPC without a google.api.http rule"
    ]


def test_an_internal_rpc_with_http_rule_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def make_internal(copy: descriptor_pb2.FileDescriptorSet) -> None:
        options = method_named(copy, "seller", "GetDashboard").options
        options.Extensions[rules.ACCESS_RULE].access = access_pb2.ACCESS_INTERNAL

    problems = rules.http_rule_problems(broken(descriptor_set, make_internal))

    assert problems == ["marketplace.seller.v1.SellerService.GetDashboard: internal RPC with a google.api.http rule"]


# 3. Every request field is validated. ----------------------------------------------------------------------


def test_every_request_field_has_validation_rules(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    assert rules.unvalidated_request_fields(descriptor_set) == []


def test_an_unvalidated_request_field_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def drop_rules(copy: descriptor_pb2.FileDescriptorSet) -> None:
        request = message_named(copy, "buddy", "GetConversationRequest")
        field_named(request, "conversation_id").options.ClearExtension(rules.FIELD_RULES)

    problems = rules.unvalidated_request_fields(broken(descriptor_set, drop_rules))

    assert problems == [
        "marketplace.buddy.v1.GetConversationRequest.conversation_id: request field without a buf.validate rule"
    ]


def test_an_unvalidated_field_of_a_nested_request_message_is_reported(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
) -> None:
    # ConfirmationAnswer is only ever sent, inside AskRequest and ChatRequest.
    def drop_rules(copy: descriptor_pb2.FileDescriptorSet) -> None:
        answer = message_named(copy, "buddy", "ConfirmationAnswer")
        field_named(answer, "decision").options.ClearExtension(rules.FIELD_RULES)

    problems = rules.unvalidated_request_fields(broken(descriptor_set, drop_rules))

    assert problems == ["marketplace.buddy.v1.ConfirmationAnswer.decision: request field without a buf.validate rule"]


# 4. Everything is documented. ------------------------------------------------------------------------------


def test_every_element_has_a_leading_comment(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    assert rules.missing_comments(descriptor_set) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((6, 0), "service marketplace.seller.v1.SellerService"),
        ((6, 0, 2, 1), "RPC marketplace.seller.v1.SellerService.ListSellerOrders"),
        ((4, 0), "message marketplace.seller.v1.TopProduct"),
        ((4, 0, 2, 1), "field marketplace.seller.v1.TopProduct.title"),
        ((5, 0), "enum marketplace.seller.v1.DashboardPeriod"),
        ((5, 0, 2, 1), "enum value marketplace.seller.v1.DashboardPeriod.DASHBOARD_PERIOD_LAST_7_DAYS"),
    ],
)
def test_a_missing_comment_is_reported(
    descriptor_set: descriptor_pb2.FileDescriptorSet, path: tuple[int, ...], expected: str
) -> None:
    def drop_comment(copy: descriptor_pb2.FileDescriptorSet) -> None:
        file = file_named(copy, "marketplace/seller/v1/seller.proto")
        location = next(loc for loc in file.source_code_info.location if tuple(loc.path) == path)
        location.ClearField("leading_comments")

    problems = rules.missing_comments(broken(descriptor_set, drop_comment))

    assert problems == [f"marketplace/seller/v1/seller.proto: {expected} has no leading comment"]


# 5. REST paths are versioned. ------------------------------------------------------------------------------


def test_every_http_path_is_versioned(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    assert rules.bad_http_paths(descriptor_set) == []


def test_an_unversioned_http_path_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def unversion(copy: descriptor_pb2.FileDescriptorSet) -> None:
        http = method_named(copy, "buddy", "Ask").options.Extensions[rules.HTTP_RULE]
        http.additional_bindings[0].post = "/buddy:ask"

    problems = rules.bad_http_paths(broken(descriptor_set, unversion))

    assert problems == [
        "marketplace.buddy.v1.BuddyService.Ask: http path '/buddy:ask' starts neither with /v1/ nor /.well-known/"
    ]


# 6. The services of the design exist with their RPCs. ------------------------------------------------------


def design_problems(descriptor_set: descriptor_pb2.FileDescriptorSet, service: str) -> list[str]:
    public, internal = DESIGN_RPCS[service]
    found = rules.service_methods(descriptor_set, service)
    problems = [f"{service}: no RPC {name}" for name in public + internal if name not in found]
    for name in internal:
        if name not in found:
            continue
        if found[name].http is not None:
            problems.append(f"{service}: {name} is internal and must have no google.api.http rule")
        if not found[name].internal:
            problems.append(f"{service}: {name} must be ACCESS_INTERNAL or internal_only")
    for name in public:
        if name in found and found[name].access == access_pb2.ACCESS_INTERNAL:
            problems.append(f"{service}: {name} must not be ACCESS_INTERNAL")
    for key, (client_streaming, server_streaming) in DESIGN_STREAMING.items():
        owner, name = key.split(".")
        if owner == service and name in found:
            method = found[name].proto
            if (method.client_streaming, method.server_streaming) != (client_streaming, server_streaming):
                problems.append(
                    f"{service}: {name} must be client_streaming={client_streaming}, "
                    f"server_streaming={server_streaming}"
                )
    return problems


@pytest.mark.parametrize("service", sorted(DESIGN_RPCS))
def test_service_has_the_rpcs_of_the_design(descriptor_set: descriptor_pb2.FileDescriptorSet, service: str) -> None:
    file_name = f"marketplace/{service}/v1/{service}.proto"
    if file_name not in rules.service_files(descriptor_set):
        pytest.skip(f"{file_name} is not in the descriptor set yet")

    assert design_problems(descriptor_set, service) == []


def test_a_missing_or_misdeclared_rpc_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def break_buddy(copy: descriptor_pb2.FileDescriptorSet) -> None:
        service = file_named(copy, "marketplace/buddy/v1/buddy.proto").service[0]
        index = next(i for i, method in enumerate(service.method) if method.name == "DeleteConversation")
        del service.method[index]
        method_named(copy, "buddy", "Chat").client_streaming = False

    problems = design_problems(broken(descriptor_set, break_buddy), "buddy")

    assert problems == [
        "buddy: no RPC DeleteConversation",
        "buddy: Chat must be client_streaming=True, server_streaming=True",
    ]


# 7. No enum request field takes a number its enum does not define. ----------------------------------------
# proto3 enums are open: without `enum.defined_only` a number the enum lacks would reach the handler. One
# mechanism for what a value may be (the contract's protovalidate rules), checked here for every contract.


def test_every_enum_request_field_rejects_unknown_numbers(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    assert rules.enum_fields_accepting_unknown_numbers(descriptor_set) == []


def test_an_enum_request_field_accepting_unknown_numbers_is_reported(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
) -> None:
    def drop_rules(copy: descriptor_pb2.FileDescriptorSet) -> None:
        request = message_named(copy, "seller", "ListSellerOrdersRequest")
        field_named(request, "status").options.ClearExtension(rules.FIELD_RULES)
        # An enum in a message that is also part of responses, reached from a request.
        field_named(message_named(copy, "auth", "User"), "role").options.ClearExtension(rules.FIELD_RULES)

    problems = rules.enum_fields_accepting_unknown_numbers(broken(descriptor_set, drop_rules))

    assert problems == [
        "marketplace.auth.v1.User.role: enum request field without enum.defined_only",
        "marketplace.seller.v1.ListSellerOrdersRequest.status: enum request field without enum.defined_only",
    ]


# Validation rules work on the generated messages. ---------------------------------------------------------


def violations(message: Message) -> list[tuple[str, str]]:
    """(field path, rule id) of every violation protovalidate finds."""
    found = []
    for violation in protovalidate.collect_violations(message):
        field = violation.proto.field
        path = ".".join(element.field_name for element in field.elements) if field is not None else ""
        found.append((path, violation.proto.rule_id))
    return found


def masked_preferences(*paths: str) -> notify_pb2.UpdatePreferencesRequest:
    return notify_pb2.UpdatePreferencesRequest(
        preferences=notify_pb2.NotificationPreferences(marketing_email=False),
        update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
    )


def series(start: date_pb2.Date) -> seller_pb2.GetSalesSeriesRequest:
    return seller_pb2.GetSalesSeriesRequest(start_date=start, end_date=date_pb2.Date(year=2026, month=2, day=1))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (notify_pb2.UpdatePreferencesRequest(), [("preferences", "required"), ("update_mask", "required")]),
        (masked_preferences("marketing_email", "password"), [("update_mask", "field_mask.in")]),
        # An empty mask changes nothing it could name: refused rather than read as "every preference".
        (masked_preferences(), [("update_mask", "update_mask.not_empty")]),
        (buddy_pb2.AskRequest(text=""), [("text", "string.min_len")]),
        (buddy_pb2.AskRequest(text="x" * 2001), [("text", "string.max_len")]),
        (buddy_pb2.AskRequest(), [("input", "required")]),
        (buddy_pb2.AskRequest(conversation_id="not-a-uuid", text="hi"), [("conversation_id", "string.uuid")]),
        (
            buddy_pb2.ChatRequest(
                confirmation=buddy_pb2.ConfirmationAnswer(confirmation_id="0190f3c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d")
            ),
            [("confirmation.decision", "enum.not_in")],
        ),
        (buddy_pb2.GetConversationRequest(), [("conversation_id", "string.uuid_empty")]),
        (seller_pb2.ListSellerOrdersRequest(page_size=101), [("page_size", "int32.gte_lte")]),
        (seller_pb2.ListSellerOrdersRequest(status=99), [("status", "enum.defined_only")]),  # type: ignore[arg-type]
        (series(date_pb2.Date(year=2026, month=13, day=1)), [("start_date", "date.valid")]),
        (seller_pb2.GetSalesSeriesRequest(), [("start_date", "required"), ("end_date", "required")]),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Message) else "",
)
def test_bad_requests_are_rejected_naming_the_field(message: Message, expected: list[tuple[str, str]]) -> None:
    assert violations(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        masked_preferences("marketing_email"),
        masked_preferences("order_updates_email", "marketing_email", "security_email"),
        buddy_pb2.AskRequest(text="white sneakers under 80 dollars"),
        buddy_pb2.AskRequest(conversation_id="0190f3c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d", text="x" * 2000),
        buddy_pb2.ChatRequest(
            confirmation=buddy_pb2.ConfirmationAnswer(
                confirmation_id="0190f3c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d", decision=buddy_pb2.DECISION_APPROVE
            )
        ),
        seller_pb2.ListSellerOrdersRequest(page_size=100, status=seller_pb2.SELLER_ORDER_STATUS_PAID),
        series(date_pb2.Date(year=2026, month=1, day=1)),
    ],
    ids=lambda value: type(value).__name__,
)
def test_good_requests_pass(message: Message) -> None:
    assert violations(message) == []


def test_an_internal_rpc_that_is_not_access_internal_is_reported(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
) -> None:
    def make_public(copy: descriptor_pb2.FileDescriptorSet) -> None:
        options = method_named(copy, "auth", "ExchangeToken").options
        options.Extensions[rules.ACCESS_RULE].access = access_pb2.ACCESS_PUBLIC

    problems = design_problems(broken(descriptor_set, make_public), "auth")

    assert problems == ["auth: ExchangeToken must be ACCESS_INTERNAL or internal_only"]


def test_an_internal_only_rpc_with_http_rule_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def route_it(copy: descriptor_pb2.FileDescriptorSet) -> None:
        options = method_named(copy, "auth", "IssueServiceToken").options
        options.Extensions[rules.HTTP_RULE].post = "/v1/serviceTokens:issue"

    problems = rules.http_rule_problems(broken(descriptor_set, route_it))

    assert problems == ["marketplace.auth.v1.AuthService.IssueServiceToken: internal RPC with a google.api.http rule"]


# 8. Update masks name their paths in the contract, and are required and not empty. ------------------------


def test_every_update_mask_lists_its_paths(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    assert rules.unbounded_update_masks(descriptor_set) == []


def test_an_update_mask_without_paths_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def drop_paths(copy: descriptor_pb2.FileDescriptorSet) -> None:
        request = message_named(copy, "auth", "UpdateMeRequest")
        field_named(request, "update_mask").options.Extensions[rules.FIELD_RULES].ClearField("field_mask")

    problems = rules.unbounded_update_masks(broken(descriptor_set, drop_paths))

    assert problems == ["marketplace.auth.v1.UpdateMeRequest.update_mask: update mask without field_mask.in"]


def test_an_update_mask_that_may_be_empty_is_reported(descriptor_set: descriptor_pb2.FileDescriptorSet) -> None:
    def allow_empty(copy: descriptor_pb2.FileDescriptorSet) -> None:
        request = message_named(copy, "notify", "UpdatePreferencesRequest")
        field_rules = field_named(request, "update_mask").options.Extensions[rules.FIELD_RULES]
        field_rules.ClearField("required")
        field_rules.ClearField("cel")

    problems = rules.unbounded_update_masks(broken(descriptor_set, allow_empty))

    assert problems == [
        "marketplace.notify.v1.UpdatePreferencesRequest.update_mask: update mask not required",
        "marketplace.notify.v1.UpdatePreferencesRequest.update_mask: update mask without the update_mask.not_empty "
        "rule",
    ]
