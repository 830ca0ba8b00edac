"""P4Runtime error values and their gRPC encoding.

Every refusal in this package is a :class:`P4RTError` carrying a canonical
gRPC code and a message that says why. Engine refusals
(:class:`~pybm.switch.errors.RuntimeApiError`) already use the same code
names, so they convert 1:1.

Batch RPCs (Write, Read) report per-update errors the way the P4Runtime
specification prescribes: overall status UNKNOWN, and a ``google.rpc.Status``
in the ``grpc-status-details-bin`` trailer whose ``details`` hold one
``p4.v1.Error`` per update, OK ones included.
"""

from __future__ import annotations

import grpc
from google.rpc import code_pb2, status_pb2
from p4.v1 import p4runtime_pb2

from pybm.switch.errors import RuntimeApiError

OK = grpc.StatusCode.OK
CANCELLED = grpc.StatusCode.CANCELLED
UNKNOWN = grpc.StatusCode.UNKNOWN
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED
RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
OUT_OF_RANGE = grpc.StatusCode.OUT_OF_RANGE
UNIMPLEMENTED = grpc.StatusCode.UNIMPLEMENTED
INTERNAL = grpc.StatusCode.INTERNAL

# p4.v1.Error.space for errors raised by this server (PI uses "ALL-sswitch-p4org").
ERROR_SPACE = "pybm-p4runtime"


class P4RTError(Exception):
    """A request (or one update of a batch) is refused with ``code``."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


def code_number(code: grpc.StatusCode) -> int:
    """The google.rpc.Code value of a grpc.StatusCode."""
    return code.value[0]


def from_engine(e: RuntimeApiError) -> P4RTError:
    code = getattr(grpc.StatusCode, e.code, None)
    if not isinstance(code, grpc.StatusCode):
        code = UNKNOWN
    return P4RTError(code, e.message)


def p4_error(err: P4RTError | None) -> p4runtime_pb2.Error:
    """One p4.v1.Error for a batch element (``None`` means it succeeded)."""
    if err is None:
        return p4runtime_pb2.Error(canonical_code=code_pb2.OK)
    return p4runtime_pb2.Error(canonical_code=code_number(err.code), message=err.message,
                               space=ERROR_SPACE)


def batch_status(errors: list[P4RTError | None], what: str) -> tuple[grpc.StatusCode, str, bytes]:
    """-> (grpc code, message, serialized google.rpc.Status) for a failed batch."""
    failed = [e for e in errors if e is not None]
    if len(failed) == 1:
        message = f"{what} failed: {failed[0].message}"
    else:
        message = f"{what} failed: {len(failed)} of {len(errors)} elements refused"
    status = status_pb2.Status(code=code_pb2.UNKNOWN, message=message)
    for e in errors:
        status.details.add().Pack(p4_error(e))
    return UNKNOWN, message, status.SerializeToString()


def set_batch_error(context: grpc.ServicerContext, errors: list[P4RTError | None],
                    what: str) -> None:
    code, message, details = batch_status(errors, what)
    context.set_trailing_metadata((("grpc-status-details-bin", details),))
    context.set_code(code)
    context.set_details(message)
