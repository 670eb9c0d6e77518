import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketplace.common.v1 import access_pb2 as _access_pb2
from marketplace.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_ROLE_UNSPECIFIED: _ClassVar[MessageRole]
    MESSAGE_ROLE_USER: _ClassVar[MessageRole]
    MESSAGE_ROLE_ASSISTANT: _ClassVar[MessageRole]

class ConfirmationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONFIRMATION_REASON_UNSPECIFIED: _ClassVar[ConfirmationReason]
    CONFIRMATION_REASON_LARGE_QUANTITY: _ClassVar[ConfirmationReason]
    CONFIRMATION_REASON_LARGE_TOTAL: _ClassVar[ConfirmationReason]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_APPROVE: _ClassVar[Decision]
    DECISION_DECLINE: _ClassVar[Decision]
MESSAGE_ROLE_UNSPECIFIED: MessageRole
MESSAGE_ROLE_USER: MessageRole
MESSAGE_ROLE_ASSISTANT: MessageRole
CONFIRMATION_REASON_UNSPECIFIED: ConfirmationReason
CONFIRMATION_REASON_LARGE_QUANTITY: ConfirmationReason
CONFIRMATION_REASON_LARGE_TOTAL: ConfirmationReason
DECISION_UNSPECIFIED: Decision
DECISION_APPROVE: Decision
DECISION_DECLINE: Decision

class ConfirmationAnswer(_message.Message):
    __slots__ = ("confirmation_id", "decision")
    CONFIRMATION_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    confirmation_id: str
    decision: Decision
    def __init__(self, confirmation_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ...) -> None: ...

class ProductCard(_message.Message):
    __slots__ = ("product_id", "title", "price", "image_url", "score", "position")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    title: str
    price: _money_pb2.Money
    image_url: str
    score: float
    position: int
    def __init__(self, product_id: _Optional[str] = ..., title: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., image_url: _Optional[str] = ..., score: _Optional[float] = ..., position: _Optional[int] = ...) -> None: ...

class CartLine(_message.Message):
    __slots__ = ("product_id", "title", "quantity", "unit_price", "line_total")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    LINE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    title: str
    quantity: int
    unit_price: _money_pb2.Money
    line_total: _money_pb2.Money
    def __init__(self, product_id: _Optional[str] = ..., title: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., line_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class TextDelta(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("call_id", "name", "arguments_json")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    name: str
    arguments_json: str
    def __init__(self, call_id: _Optional[str] = ..., name: _Optional[str] = ..., arguments_json: _Optional[str] = ...) -> None: ...

class ToolResult(_message.Message):
    __slots__ = ("call_id", "name", "ok", "summary")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    name: str
    ok: bool
    summary: str
    def __init__(self, call_id: _Optional[str] = ..., name: _Optional[str] = ..., ok: _Optional[bool] = ..., summary: _Optional[str] = ...) -> None: ...

class ProductCards(_message.Message):
    __slots__ = ("cards",)
    CARDS_FIELD_NUMBER: _ClassVar[int]
    cards: _containers.RepeatedCompositeFieldContainer[ProductCard]
    def __init__(self, cards: _Optional[_Iterable[_Union[ProductCard, _Mapping]]] = ...) -> None: ...

class CartUpdate(_message.Message):
    __slots__ = ("lines", "total")
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[CartLine]
    total: _money_pb2.Money
    def __init__(self, lines: _Optional[_Iterable[_Union[CartLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ConfirmationRequest(_message.Message):
    __slots__ = ("confirmation_id", "question", "reason")
    CONFIRMATION_ID_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    confirmation_id: str
    question: str
    reason: ConfirmationReason
    def __init__(self, confirmation_id: _Optional[str] = ..., question: _Optional[str] = ..., reason: _Optional[_Union[ConfirmationReason, str]] = ...) -> None: ...

class TurnEnd(_message.Message):
    __slots__ = ("message_id",)
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    def __init__(self, message_id: _Optional[str] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class BuddyEvent(_message.Message):
    __slots__ = ("conversation_id", "text_delta", "tool_call", "tool_result", "product_cards", "cart_update", "confirmation_request", "turn_end", "error")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_FIELD_NUMBER: _ClassVar[int]
    TOOL_RESULT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CARDS_FIELD_NUMBER: _ClassVar[int]
    CART_UPDATE_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_REQUEST_FIELD_NUMBER: _ClassVar[int]
    TURN_END_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    text_delta: TextDelta
    tool_call: ToolCall
    tool_result: ToolResult
    product_cards: ProductCards
    cart_update: CartUpdate
    confirmation_request: ConfirmationRequest
    turn_end: TurnEnd
    error: Error
    def __init__(self, conversation_id: _Optional[str] = ..., text_delta: _Optional[_Union[TextDelta, _Mapping]] = ..., tool_call: _Optional[_Union[ToolCall, _Mapping]] = ..., tool_result: _Optional[_Union[ToolResult, _Mapping]] = ..., product_cards: _Optional[_Union[ProductCards, _Mapping]] = ..., cart_update: _Optional[_Union[CartUpdate, _Mapping]] = ..., confirmation_request: _Optional[_Union[ConfirmationRequest, _Mapping]] = ..., turn_end: _Optional[_Union[TurnEnd, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "role", "text", "product_cards", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CARDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: MessageRole
    text: str
    product_cards: _containers.RepeatedCompositeFieldContainer[ProductCard]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., role: _Optional[_Union[MessageRole, str]] = ..., text: _Optional[str] = ..., product_cards: _Optional[_Iterable[_Union[ProductCard, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("id", "title", "messages", "last_shown_product_ids", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    LAST_SHOWN_PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    last_shown_product_ids: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., last_shown_product_ids: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChatRequest(_message.Message):
    __slots__ = ("conversation_id", "text", "confirmation")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    text: str
    confirmation: ConfirmationAnswer
    def __init__(self, conversation_id: _Optional[str] = ..., text: _Optional[str] = ..., confirmation: _Optional[_Union[ConfirmationAnswer, _Mapping]] = ...) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: BuddyEvent
    def __init__(self, event: _Optional[_Union[BuddyEvent, _Mapping]] = ...) -> None: ...

class AskRequest(_message.Message):
    __slots__ = ("conversation_id", "text", "confirmation")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    text: str
    confirmation: ConfirmationAnswer
    def __init__(self, conversation_id: _Optional[str] = ..., text: _Optional[str] = ..., confirmation: _Optional[_Union[ConfirmationAnswer, _Mapping]] = ...) -> None: ...

class AskResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: BuddyEvent
    def __init__(self, event: _Optional[_Union[BuddyEvent, _Mapping]] = ...) -> None: ...

class ListConversationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConversationsResponse(_message.Message):
    __slots__ = ("conversations", "next_page_token")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    next_page_token: str
    def __init__(self, conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetConversationRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class GetConversationResponse(_message.Message):
    __slots__ = ("conversation",)
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    conversation: Conversation
    def __init__(self, conversation: _Optional[_Union[Conversation, _Mapping]] = ...) -> None: ...

class DeleteConversationRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class DeleteConversationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
