"""Domain errors: what went wrong, in Neutron's vocabulary.

Each error class carries the Neutron fault `type` (the class name, as Neutron reports it) and a
`kind` that the API maps to an HTTP status. The domain never speaks HTTP; `api/errors.py` owns
the mapping from kind to status code.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar


class Kind(Enum):
    """The family of an error; the API turns it into a status code."""

    BAD_REQUEST = "bad_request"
    NOT_AUTHORIZED = "not_authorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    PRECONDITION_FAILED = "precondition_failed"
    TOO_LARGE = "too_large"
    GONE = "gone"
    UNAVAILABLE = "unavailable"


class NeutronError(Exception):
    """Base of every error a request can answer with.

    `type` defaults to the class name, which is what Neutron puts in `NeutronError.type`.
    """

    kind: ClassVar[Kind] = Kind.BAD_REQUEST
    type_name: ClassVar[str | None] = None

    def __init__(self, message: str, detail: str = "", *, type_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self._type_name = type_name

    @property
    def type(self) -> str:
        return self._type_name or self.type_name or type(self).__name__


class BadRequest(NeutronError):
    kind = Kind.BAD_REQUEST
    type_name = "HTTPBadRequest"


class InvalidInput(BadRequest):
    """A value failed validation. `message` is the reason, in Neutron's words."""

    type_name = "InvalidInput"

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(f"Invalid input for operation: {message}", detail)
        self.reason = message


class NotAuthorized(NeutronError):
    kind = Kind.NOT_AUTHORIZED


class Forbidden(NeutronError):
    kind = Kind.FORBIDDEN
    type_name = "HTTPForbidden"


class PolicyNotAuthorized(Forbidden):
    type_name = "PolicyNotAuthorized"


class NotFound(NeutronError):
    kind = Kind.NOT_FOUND


class Conflict(NeutronError):
    kind = Kind.CONFLICT


class InUse(Conflict):
    pass


class OverQuota(Conflict):
    type_name = "OverQuota"


class PreconditionFailed(NeutronError):
    kind = Kind.PRECONDITION_FAILED
    type_name = "RevisionNumberConstraintFailed"


class RequestTooLarge(NeutronError):
    kind = Kind.TOO_LARGE
    type_name = "RequestEntityTooLarge"


class Gone(NeutronError):
    kind = Kind.GONE


class Unavailable(NeutronError):
    kind = Kind.UNAVAILABLE


def not_found(resource: str, resource_id: object) -> NotFound:
    """`NetworkNotFound`-style error, as Neutron names them: `<Resource>NotFound`."""
    camel = "".join(part.capitalize() for part in resource.replace("-", "_").split("_"))
    words = resource.replace("_", " ").capitalize()
    return NotFound(f"{words} {resource_id} could not be found.", type_name=f"{camel}NotFound")
