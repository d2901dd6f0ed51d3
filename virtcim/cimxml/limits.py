"""Bounds on what one request may ask the decoder to build.

A request body is at most ``max_body_bytes`` (32 MiB) long; within that,
these bounds keep each part of it to what a real client sends, so that a
hostile one cannot make the server build a million-item array or hand a
provider a 30 MB string. Each is refused with ``CIM_ERR_INVALID_PARAMETER``
naming the bound. (Element nesting is bounded in :mod:`virtcim.cimxml.decode`.)
"""

#: The most parameters one call passes (DSP0200's operations take at most 13).
MAX_PARAMETERS = 256
#: The most items in one array value (a property list, a list of references...).
MAX_ARRAY_ITEMS = 65536
#: The longest single value, in characters; an embedded object's text is one value.
MAX_VALUE_CHARS = 4 * 1024 * 1024
