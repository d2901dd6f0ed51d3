"""A network filter's ``<rule>`` as a CIM filter entry: which class shows it, and its values.

libvirt names what a rule matches by the element inside it: Ethernet frames
(``mac``, ``vlan``, ``stp``, ``arp``, ``rarp``) are shown by
``Hdr8021Filter``, IP packets (``ip``, ``tcp``, ``icmp``... and their IPv6
forms) by ``IPHeadersFilter``, and a rule that matches all traffic, or
something neither describes, by ``FilterEntry``. Addresses and masks are
their octets, as the classes declare them. libvirt also accepts a variable
in place of an address (``$MAC``, ``$IP``), which stands for the guest's own
address and has no octets; it is given as the octets of its name, as
libvirt-cim gave it, so that a client can tell it apart (it starts with
``$``, 36).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from providers.virt.nwfilter import FilterRule
from providers.virt.xmltree import integer

__all__ = [
    "ETHERNET_RULE",
    "IP_RULE",
    "OTHER_RULE",
    "entry_class",
    "entry_values",
]

#: The generic classes that show rules.
ETHERNET_RULE = "Hdr8021Filter"
IP_RULE = "IPHeadersFilter"
OTHER_RULE = "FilterEntry"

_ETHERNET_PROTOCOLS = frozenset({"mac", "vlan", "stp", "arp", "rarp"})

#: IP protocol numbers (IANA) of the IP rule elements, by tag without ``-ipv6``.
_IP_PROTOCOL_NUMBERS: Mapping[str, int | None] = {
    "ip": None, "ipv6": None, "all": None,
    "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "esp": 50, "ah": 51, "icmpv6": 58,
    "sctp": 132, "udplite": 136,
}  # fmt: skip

#: EtherTypes: the names libvirt's ``protocolid`` takes, and those its elements imply.
_ETHER_TYPES = {"ipv4": 0x0800, "arp": 0x0806, "rarp": 0x8035, "ipv6": 0x86DD, "vlan": 0x8100}

_ACTIONS = {"accept": 1, "drop": 2, "reject": 3, "return": 4, "continue": 5}
_DIRECTIONS = {"in": 1, "out": 2, "inout": 3}
_NOT_APPLICABLE = 0


def entry_class(rule: FilterRule) -> str:
    """The generic class that shows ``rule``."""
    if rule.protocol in _ETHERNET_PROTOCOLS:
        return ETHERNET_RULE
    if rule.protocol is not None and _ip_protocol(rule.protocol) in _IP_PROTOCOL_NUMBERS:
        return IP_RULE
    return OTHER_RULE


def entry_values(rule: FilterRule) -> dict[str, Any]:
    """The properties of ``rule``'s entry other than its keys (``None`` left out)."""
    values: dict[str, Any] = {
        "Action": _ACTIONS.get(rule.action or ""),
        "Direction": _DIRECTIONS.get(rule.direction or "", _NOT_APPLICABLE),
        "Priority": rule.priority,
        "IsNegated": rule.match.get("match") == "no",
    }
    kind = entry_class(rule)
    if kind == ETHERNET_RULE:
        values.update(_ethernet_values(rule))
    elif kind == IP_RULE:
        values.update(_ip_values(rule))
    return {name: value for name, value in values.items() if value is not None}


def _ethernet_values(rule: FilterRule) -> dict[str, Any]:
    match = rule.match
    protocol = match.get("protocolid")
    ether_type = _ether_type(protocol) if protocol else _ETHER_TYPES.get(rule.protocol or "")
    return {
        "HdrSrcMACAddr8021": _mac_octets(match.get("srcmacaddr")),
        "HdrSrcMACMask8021": _mac_octets(match.get("srcmacmask")),
        "HdrDestMACAddr8021": _mac_octets(match.get("dstmacaddr")),
        "HdrDestMACMask8021": _mac_octets(match.get("dstmacmask")),
        "HdrProtocolID8021": ether_type,
        "HdrVLANID8021": _bounded(integer(match.get("vlanid")), 4095),
    }


def _ip_values(rule: FilterRule) -> dict[str, Any]:
    match = rule.match
    protocol = rule.protocol or ""
    version = 6 if protocol in ("ipv6", "icmpv6") or protocol.endswith("-ipv6") else 4
    values: dict[str, Any] = {
        "HdrIPVersion": version,
        "HdrProtocolID": _ip_protocol_number(rule),
        "HdrSrcPortStart": _bounded(integer(match.get("srcportstart")), 65535),
        "HdrSrcPortEnd": _bounded(integer(match.get("srcportend")), 65535),
        "HdrDestPortStart": _bounded(integer(match.get("dstportstart")), 65535),
        "HdrDestPortEnd": _bounded(integer(match.get("dstportend")), 65535),
    }
    dscp = _bounded(integer(match.get("dscp")), 63)
    if dscp is not None:
        values["HdrDSCP"] = [dscp]
    for side, cim in (("src", "Src"), ("dst", "Dest")):
        if f"{side}ipfrom" in match:
            values[f"Hdr{cim}Address"] = _ip_octets(match[f"{side}ipfrom"])
            values[f"Hdr{cim}AddressEndOfRange"] = _ip_octets(match.get(f"{side}ipto"))
        else:
            values[f"Hdr{cim}Address"] = _ip_octets(match.get(f"{side}ipaddr"))
            values[f"Hdr{cim}Mask"] = _mask_octets(match.get(f"{side}ipmask"), version)
    return values


def _ip_protocol(tag: str) -> str:
    return tag.removesuffix("-ipv6")


def _ip_protocol_number(rule: FilterRule) -> int | None:
    """The IP protocol a rule matches: its element's, or the ``protocol`` of an ip rule."""
    number = _IP_PROTOCOL_NUMBERS.get(_ip_protocol(rule.protocol or ""))
    if number is not None:
        return number
    named = rule.match.get("protocol")
    if named is None:
        return None
    return _IP_PROTOCOL_NUMBERS.get(named) or _bounded(integer(named), 255)


def _ether_type(text: str) -> int | None:
    """An EtherType named (``arp``) or given as a number (``0x835``, ``2101``)."""
    if text in _ETHER_TYPES:
        return _ETHER_TYPES[text]
    try:
        return _bounded(int(text, 0), 0xFFFF)
    except ValueError:
        return None


def _mac_octets(text: str | None) -> list[int] | None:
    if text is None:
        return None
    if text.startswith("$"):
        return _variable_octets(text)
    parts = text.split(":")
    try:
        octets = [int(part, 16) for part in parts]
    except ValueError:
        return None
    return octets if len(octets) == 6 and all(0 <= octet <= 255 for octet in octets) else None


def _ip_octets(text: str | None) -> list[int] | None:
    if text is None:
        return None
    if text.startswith("$"):
        return _variable_octets(text)
    try:
        return list(ipaddress.ip_address(text).packed)
    except ValueError:
        return None


def _mask_octets(text: str | None, version: int) -> list[int] | None:
    """A mask given as a prefix length (``24``) or as an address (``255.255.255.0``)."""
    if text is None:
        return None
    length = integer(text)
    if length is None:
        return _ip_octets(text)
    network = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    try:
        return list(network(f"{'0.0.0.0' if version == 4 else '::'}/{length}").netmask.packed)
    except ValueError:
        return None


def _variable_octets(text: str) -> list[int]:
    return list(text.encode())


def _bounded(value: int | None, maximum: int) -> int | None:
    return value if value is not None and 0 <= value <= maximum else None
