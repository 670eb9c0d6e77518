from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Access(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_UNSPECIFIED: _ClassVar[Access]
    ACCESS_PUBLIC: _ClassVar[Access]
    ACCESS_AUTHENTICATED: _ClassVar[Access]
    ACCESS_SELLER: _ClassVar[Access]
    ACCESS_ADMIN: _ClassVar[Access]
    ACCESS_INTERNAL: _ClassVar[Access]
ACCESS_UNSPECIFIED: Access
ACCESS_PUBLIC: Access
ACCESS_AUTHENTICATED: Access
ACCESS_SELLER: Access
ACCESS_ADMIN: Access
ACCESS_INTERNAL: Access
RULE_FIELD_NUMBER: _ClassVar[int]
rule: _descriptor.FieldDescriptor

class AccessRule(_message.Message):
    __slots__ = ("access", "scope", "internal_only")
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_ONLY_FIELD_NUMBER: _ClassVar[int]
    access: Access
    scope: str
    internal_only: bool
    def __init__(self, access: _Optional[_Union[Access, str]] = ..., scope: _Optional[str] = ..., internal_only: _Optional[bool] = ...) -> None: ...
