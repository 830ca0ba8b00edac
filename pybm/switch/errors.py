"""Exceptions shared by the switch engine, its runtime API and its services."""

from __future__ import annotations


class ConfigError(Exception):
    """The BMv2 JSON (or another configuration input) cannot be used."""


class RuntimeApiError(Exception):
    """A control-plane request was refused; ``code`` names the reason.

    Codes follow the P4Runtime/gRPC vocabulary so the P4Runtime service can map
    them 1:1: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE,
    RESOURCE_EXHAUSTED, PERMISSION_DENIED, UNIMPLEMENTED, FAILED_PRECONDITION.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ParserException(Exception):  # noqa: N818 - mirrors the P4 notion of a parser error
    """Raised by generated parser code; carries the P4 error code."""

    __slots__ = ("code",)

    def __init__(self, code: int):
        self.code = code


class PacketDrop(Exception):  # noqa: N818 - control flow, not an error condition
    """Raised by generated code to abandon a packet (e.g. a failed assert)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
