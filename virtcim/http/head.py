"""What h11 lets through in a request head and virtcim refuses (RFC 9112 sections 2 and 5).

h11 parses the request line and the header fields. It unfolds header lines
folded over several lines (obsolete in RFC 9112, and a request-smuggling
vector: a proxy in front may read them otherwise) and, following an erratum
to RFC 7230, lets control characters through in field values; it bounds the
head's total size but neither the length of one line nor the number of
fields. These checks, on the raw head h11 parsed, do the rest. No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["HeadError", "check_fields", "check_lines"]

#: Controls other than horizontal tab, which RFC 9110 section 5.5 forbids in values.
_FIELD_VALUE_FORBIDDEN = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class HeadError(Exception):
    """A request head the server refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_lines(raw: bytes, max_line_bytes: int, max_fields: int) -> None:
    """Check the lines of a request head as received (complete, or the part received so far).

    Raises :class:`HeadError`: 414 for a request line longer than
    ``max_line_bytes``, 431 for a longer field line or more than
    ``max_fields`` fields, 400 for a folded field line.
    """
    lines = raw.split(b"\n")
    if len(lines[0]) > max_line_bytes:
        raise HeadError(414, f"request line longer than {max_line_bytes} bytes")
    fields = 0
    for line in lines[1:]:
        if line in (b"", b"\r"):
            return
        if len(line) > max_line_bytes:
            raise HeadError(431, f"header line longer than {max_line_bytes} bytes")
        if line[:1] in (b" ", b"\t"):
            raise HeadError(400, f"folded header line {line.decode('iso-8859-1').strip()!r}")
        fields += 1
        if fields > max_fields:
            raise HeadError(431, f"more than {max_fields} header lines")


def check_fields(fields: Iterable[tuple[bytes, bytes]]) -> None:
    """Refuse (400) field values with control characters, which h11 accepts."""
    for name, value in fields:
        if _FIELD_VALUE_FORBIDDEN.search(value):
            raise HeadError(400, f"control character in header {name.decode('ascii')}")
