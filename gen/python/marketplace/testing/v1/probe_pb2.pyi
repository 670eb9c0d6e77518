from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from marketplace.common.v1 import access_pb2 as _access_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FailureKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILURE_KIND_UNSPECIFIED: _ClassVar[FailureKind]
    FAILURE_KIND_NOT_FOUND: _ClassVar[FailureKind]
    FAILURE_KIND_PERMISSION_DENIED: _ClassVar[FailureKind]
    FAILURE_KIND_UNAUTHENTICATED: _ClassVar[FailureKind]
    FAILURE_KIND_FAILED_PRECONDITION: _ClassVar[FailureKind]
    FAILURE_KIND_CONFLICT: _ClassVar[FailureKind]
    FAILURE_KIND_ALREADY_EXISTS: _ClassVar[FailureKind]
    FAILURE_KIND_RATE_LIMITED: _ClassVar[FailureKind]
    FAILURE_KIND_INVALID_ARGUMENT: _ClassVar[FailureKind]
    FAILURE_KIND_UNEXPECTED: _ClassVar[FailureKind]
    FAILURE_KIND_DEPENDENCY_UNAVAILABLE: _ClassVar[FailureKind]
    FAILURE_KIND_DEPENDENCY_REFUSED: _ClassVar[FailureKind]
FAILURE_KIND_UNSPECIFIED: FailureKind
FAILURE_KIND_NOT_FOUND: FailureKind
FAILURE_KIND_PERMISSION_DENIED: FailureKind
FAILURE_KIND_UNAUTHENTICATED: FailureKind
FAILURE_KIND_FAILED_PRECONDITION: FailureKind
FAILURE_KIND_CONFLICT: FailureKind
FAILURE_KIND_ALREADY_EXISTS: FailureKind
FAILURE_KIND_RATE_LIMITED: FailureKind
FAILURE_KIND_INVALID_ARGUMENT: FailureKind
FAILURE_KIND_UNEXPECTED: FailureKind
FAILURE_KIND_DEPENDENCY_UNAVAILABLE: FailureKind
FAILURE_KIND_DEPENDENCY_REFUSED: FailureKind

class Caller(_message.Message):
    __slots__ = ("subject", "kind", "roles", "scopes", "actor")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    subject: str
    kind: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    scopes: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    def __init__(self, subject: _Optional[str] = ..., kind: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., scopes: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ...) -> None: ...

class PublicPingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PublicPingResponse(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: Caller
    def __init__(self, caller: _Optional[_Union[Caller, _Mapping]] = ...) -> None: ...

class AuthenticatedPingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuthenticatedPingResponse(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: Caller
    def __init__(self, caller: _Optional[_Union[Caller, _Mapping]] = ...) -> None: ...

class SellerPingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SellerPingResponse(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: Caller
    def __init__(self, caller: _Optional[_Union[Caller, _Mapping]] = ...) -> None: ...

class AdminPingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AdminPingResponse(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: Caller
    def __init__(self, caller: _Optional[_Union[Caller, _Mapping]] = ...) -> None: ...

class InternalPingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InternalPingResponse(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: Caller
    def __init__(self, caller: _Optional[_Union[Caller, _Mapping]] = ...) -> None: ...

class ScopedPingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ScopedPingResponse(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: Caller
    def __init__(self, caller: _Optional[_Union[Caller, _Mapping]] = ...) -> None: ...

class EchoRequest(_message.Message):
    __slots__ = ("name", "count", "email")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    email: str
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ..., email: _Optional[str] = ...) -> None: ...

class EchoResponse(_message.Message):
    __slots__ = ("name", "count", "email")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    email: str
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ..., email: _Optional[str] = ...) -> None: ...

class FailRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: FailureKind
    def __init__(self, kind: _Optional[_Union[FailureKind, str]] = ...) -> None: ...

class FailResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CountUpRequest(_message.Message):
    __slots__ = ("name", "count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class CountUpResponse(_message.Message):
    __slots__ = ("name", "index")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    name: str
    index: int
    def __init__(self, name: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class CollectRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CollectResponse(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class ChatRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...
