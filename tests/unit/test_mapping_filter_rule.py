"""A network filter's XML read into records, and each rule as the CIM entry that shows it."""

from __future__ import annotations

import pytest
from lxml import etree

from providers.virt.mapping.filter_rule import entry_class, entry_values
from providers.virt.nwfilter import FilterRule, read_filter

FILTER = """\
<filter name='guard' chain='ipv4' priority='-700'>
  <uuid>5f4cbc35-0d4b-4a5e-9c3b-8a1d2f9e0a11</uuid>
  <filterref filter='no-mac-spoofing'/>
  <rule action='accept' direction='out' priority='100'>
    <ip srcipaddr='0.0.0.0' protocol='udp' srcportstart='68' dstportstart='67'/>
  </rule>
  <filterref filter='no-ip-spoofing'/>
  <rule action='drop' direction='inout' priority='1000'/>
  <filterref filter='no-mac-spoofing'/>
</filter>
"""


def rule_of(xml: str) -> FilterRule:
    """The one rule of a filter holding ``xml`` as its only rule."""
    network_filter = read_filter(etree.fromstring(f"<filter name='f'>{xml}</filter>"))
    [rule] = network_filter.rules
    return rule


def test_a_filter_keeps_its_name_uuid_chain_priority_rules_and_references_in_order():
    network_filter = read_filter(etree.fromstring(FILTER))
    assert network_filter.name == "guard"
    assert network_filter.uuid == "5f4cbc35-0d4b-4a5e-9c3b-8a1d2f9e0a11"
    assert (network_filter.chain, network_filter.priority) == ("ipv4", -700)
    assert network_filter.references == ("no-mac-spoofing", "no-ip-spoofing", "no-mac-spoofing")
    first, second = network_filter.rules
    assert (first.index, first.action, first.direction, first.priority) == (0, "accept", "out", 100)
    assert first.protocol == "ip" and first.match["srcportstart"] == "68"
    assert (second.index, second.protocol, dict(second.match)) == (1, None, {})


def test_a_filter_without_priority_or_rules_has_none():
    network_filter = read_filter(etree.fromstring("<filter name='empty' chain='root'/>"))
    assert (network_filter.priority, network_filter.rules, network_filter.references) == (
        None, (), ())
    assert network_filter.rule(0) is None and network_filter.rule(-1) is None


@pytest.mark.parametrize(("element", "expected"), [
    ("", "FilterEntry"),
    ("<mac/>", "Hdr8021Filter"),
    ("<vlan vlanid='7'/>", "Hdr8021Filter"),
    ("<stp/>", "Hdr8021Filter"),
    ("<arp/>", "Hdr8021Filter"),
    ("<rarp/>", "Hdr8021Filter"),
    ("<ip/>", "IPHeadersFilter"),
    ("<ipv6/>", "IPHeadersFilter"),
    ("<tcp/>", "IPHeadersFilter"),
    ("<udp-ipv6/>", "IPHeadersFilter"),
    ("<icmpv6/>", "IPHeadersFilter"),
    ("<all/>", "IPHeadersFilter"),
    ("<all-ipv6/>", "IPHeadersFilter"),
    ("<sctp/>", "IPHeadersFilter"),
    ("<esp/>", "IPHeadersFilter"),
    ("<ah-ipv6/>", "IPHeadersFilter"),
    ("<udplite/>", "IPHeadersFilter"),
    ("<igmp/>", "IPHeadersFilter"),
    ("<unknown-protocol/>", "FilterEntry"),
])
def test_each_rule_is_shown_by_the_class_of_what_it_matches(element, expected):
    assert entry_class(rule_of(f"<rule action='accept' direction='in'>{element}</rule>")) == expected


@pytest.mark.parametrize(("attributes", "expected"), [
    ("action='accept' direction='in' priority='-5'",
     {"Action": 1, "Direction": 1, "Priority": -5}),
    ("action='drop' direction='out'", {"Action": 2, "Direction": 2}),
    ("action='reject' direction='inout'", {"Action": 3, "Direction": 3}),
    ("action='return' direction='in'", {"Action": 4, "Direction": 1}),
    ("action='continue' direction='in'", {"Action": 5, "Direction": 1}),
    # what libvirt would never write leaves the value out, or not applicable
    ("action='explode' direction='sideways' priority='high'", {"Direction": 0}),
])
def test_the_action_direction_and_priority_of_every_rule(attributes, expected):
    values = entry_values(rule_of(f"<rule {attributes}/>"))
    assert values == {"IsNegated": False, **expected}


@pytest.mark.parametrize(("element", "expected"), [
    ("<mac srcmacaddr='52:54:00:AB:cd:01' srcmacmask='ff:ff:ff:00:00:00'/>",
     {"HdrSrcMACAddr8021": [0x52, 0x54, 0, 0xAB, 0xCD, 1],
      "HdrSrcMACMask8021": [255, 255, 255, 0, 0, 0]}),
    ("<mac dstmacaddr='ff:ff:ff:ff:ff:ff' dstmacmask='01:00:00:00:00:00'/>",
     {"HdrDestMACAddr8021": [255] * 6, "HdrDestMACMask8021": [1, 0, 0, 0, 0, 0]}),
    ("<mac protocolid='ipv4'/>", {"HdrProtocolID8021": 0x0800}),
    ("<mac protocolid='arp'/>", {"HdrProtocolID8021": 0x0806}),
    ("<mac protocolid='rarp'/>", {"HdrProtocolID8021": 0x8035}),
    ("<mac protocolid='ipv6'/>", {"HdrProtocolID8021": 0x86DD}),
    ("<mac protocolid='0x835'/>", {"HdrProtocolID8021": 0x835}),
    ("<mac protocolid='2101'/>", {"HdrProtocolID8021": 2101}),
    ("<arp arpsrcipaddr='$IP'/>", {"HdrProtocolID8021": 0x0806}),
    ("<rarp/>", {"HdrProtocolID8021": 0x8035}),
    ("<vlan vlanid='42'/>", {"HdrProtocolID8021": 0x8100, "HdrVLANID8021": 42}),
    ("<stp/>", {}),
    # libvirt's variable for the guest's own address: the octets of its name
    ("<mac srcmacaddr='$MAC'/>", {"HdrSrcMACAddr8021": [36, 77, 65, 67]}),
    # malformed or out of range: left out rather than made up
    ("<mac srcmacaddr='52:54:00:ab:cd' protocolid='0x1ffff'/>", {}),
    ("<mac dstmacaddr='zz:54:00:ab:cd:01' protocolid='mystery'/>", {}),
    ("<vlan vlanid='4096'/>", {"HdrProtocolID8021": 0x8100}),
    ("<mac match='no' srcmacaddr='00:00:00:00:00:01'/>",
     {"IsNegated": True, "HdrSrcMACAddr8021": [0, 0, 0, 0, 0, 1]}),
])
def test_ethernet_rules_give_their_addresses_masks_and_ether_types(element, expected):
    values = entry_values(rule_of(f"<rule action='accept' direction='out'>{element}</rule>"))
    header = {name: value for name, value in values.items()
              if name.startswith("Hdr") or name == "IsNegated"}
    assert header == {"IsNegated": False, **expected}


@pytest.mark.parametrize(("element", "expected"), [
    ("<ip/>", {"HdrIPVersion": 4}),
    ("<ipv6/>", {"HdrIPVersion": 6}),
    ("<all/>", {"HdrIPVersion": 4}),
    ("<all-ipv6/>", {"HdrIPVersion": 6}),
    ("<ip dstipaddr='224.0.0.0' dstipmask='4'/>",
     {"HdrIPVersion": 4, "HdrDestAddress": [224, 0, 0, 0], "HdrDestMask": [240, 0, 0, 0]}),
    ("<ip srcipaddr='10.1.2.3' srcipmask='255.255.0.0'/>",
     {"HdrIPVersion": 4, "HdrSrcAddress": [10, 1, 2, 3], "HdrSrcMask": [255, 255, 0, 0]}),
    ("<ip srcipaddr='10.0.0.0' srcipmask='0'/>",
     {"HdrIPVersion": 4, "HdrSrcAddress": [10, 0, 0, 0], "HdrSrcMask": [0, 0, 0, 0]}),
    ("<ipv6 srcipaddr='fe80::' srcipmask='10'/>",
     {"HdrIPVersion": 6, "HdrSrcAddress": [0xFE, 0x80] + [0] * 14,
      "HdrSrcMask": [255, 0xC0] + [0] * 14}),
    ("<tcp srcipfrom='10.0.0.1' srcipto='10.0.0.9' dstportstart='80' dstportend='88'/>",
     {"HdrIPVersion": 4, "HdrProtocolID": 6, "HdrSrcAddress": [10, 0, 0, 1],
      "HdrSrcAddressEndOfRange": [10, 0, 0, 9], "HdrDestPortStart": 80, "HdrDestPortEnd": 88}),
    ("<udp-ipv6 dstipfrom='::1' dstipto='::2' srcportstart='546' srcportend='547'/>",
     {"HdrIPVersion": 6, "HdrProtocolID": 17, "HdrDestAddress": [0] * 15 + [1],
      "HdrDestAddressEndOfRange": [0] * 15 + [2], "HdrSrcPortStart": 546, "HdrSrcPortEnd": 547}),
    ("<icmp/>", {"HdrIPVersion": 4, "HdrProtocolID": 1}),
    ("<icmpv6/>", {"HdrIPVersion": 6, "HdrProtocolID": 58}),
    ("<igmp/>", {"HdrIPVersion": 4, "HdrProtocolID": 2}),
    ("<sctp/>", {"HdrIPVersion": 4, "HdrProtocolID": 132}),
    ("<esp/>", {"HdrIPVersion": 4, "HdrProtocolID": 50}),
    ("<ah/>", {"HdrIPVersion": 4, "HdrProtocolID": 51}),
    ("<udplite/>", {"HdrIPVersion": 4, "HdrProtocolID": 136}),
    ("<ip protocol='udp'/>", {"HdrIPVersion": 4, "HdrProtocolID": 17}),
    ("<ip protocol='47'/>", {"HdrIPVersion": 4, "HdrProtocolID": 47}),
    ("<ip dscp='46'/>", {"HdrIPVersion": 4, "HdrDSCP": [46]}),
    ("<ip srcipaddr='$IP'/>", {"HdrIPVersion": 4, "HdrSrcAddress": [36, 73, 80]}),
    # malformed or out of range: left out rather than made up
    ("<ip srcipaddr='300.1.1.1' srcipmask='40' protocol='999' dscp='64'/>",
     {"HdrIPVersion": 4}),
    ("<tcp srcportstart='70000' dstportstart='-1'/>", {"HdrIPVersion": 4, "HdrProtocolID": 6}),
    ("<ip dstipmask='16'/>", {"HdrIPVersion": 4, "HdrDestMask": [255, 255, 0, 0]}),
])
def test_ip_rules_give_their_version_protocol_addresses_ranges_masks_and_ports(element, expected):
    values = entry_values(rule_of(f"<rule action='accept' direction='out'>{element}</rule>"))
    header = {name: value for name, value in values.items() if name.startswith("Hdr")}
    assert header == expected


def test_a_rule_that_matches_all_traffic_has_only_what_every_entry_has():
    values = entry_values(rule_of("<rule action='drop' direction='inout' priority='1000'/>"))
    assert values == {"Action": 2, "Direction": 3, "Priority": 1000, "IsNegated": False}
