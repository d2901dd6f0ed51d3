"""Processor settings to and from ``<vcpu>`` and ``<cputune>`` (providers.virt.mapping.processor)."""

from __future__ import annotations

import pytest
from lxml import etree

from providers.virt.mapping import Kind, processor, resources
from tests.mapping_checks import by_id


def test_processor_reads_vcpus_in_use_and_no_cap_when_cputune_sets_none(xml):
    proc = by_id(xml, Kind.PROC)["proc"]
    assert proc["ResourceType"] == 3 and proc["VirtualQuantity"] == 1
    assert "Limit" not in proc and "Weight" not in proc


@pytest.mark.parametrize("cputune, limit", [
    ("<global_period>100000</global_period><global_quota>512000</global_quota>", 512),
    ("<global_period>50000</global_period><global_quota>25000</global_quota>", 50),
    ("<global_quota>-1</global_quota><period>100000</period><quota>30000</quota>", 30),
    ("<global_quota>-1</global_quota>", None),
    ("<shares>2048</shares>", None),
])
def test_processor_limit_is_the_cap_on_host_cpu_in_percent(xml, cputune, limit):
    etree.SubElement(xml.root, "cputune").extend(etree.fromstring(f"<x>{cputune}</x>"))
    assert by_id(xml, Kind.PROC)["proc"].get("Limit") == limit


def test_processor_limit_and_weight_are_written_as_cputune_not_vcpus(xml):
    resources.apply_resource(xml, Kind.PROC, {"VirtualQuantity": 3, "Weight": 124, "Limit": 512})
    assert (xml.vcpus, xml.max_vcpus) == (3, 4)
    assert xml.root.findtext("cputune/shares") == "124"
    assert xml.root.findtext("cputune/global_period") == "100000"
    assert xml.root.findtext("cputune/global_quota") == "512000"
    proc = by_id(xml, Kind.PROC)["proc"]
    assert (proc["VirtualQuantity"], proc["Weight"], proc["Limit"]) == (3, 124, 512)


def test_processor_limit_unchanged_keeps_per_vcpu_quotas_as_written(xml):
    etree.SubElement(xml.root, "cputune").extend(
        etree.fromstring("<x><period>100000</period><quota>30000</quota></x>"))
    before = xml.to_string()
    resources.apply_resource(xml, Kind.PROC, dict(by_id(xml, Kind.PROC)["proc"]), "proc")
    assert xml.to_string() == before


def test_processor_limit_zero_removes_the_cap_and_keeps_the_weight(xml):
    resources.apply_resource(xml, Kind.PROC, {"Weight": 124, "Limit": 512})
    resources.apply_resource(xml, Kind.PROC, {"Limit": 0})
    assert xml.root.find("cputune/global_quota") is None
    assert xml.root.findtext("cputune/shares") == "124"
    resources.apply_resource(xml, Kind.PROC, {"Limit": 0})
    assert "Limit" not in by_id(xml, Kind.PROC)["proc"]


def test_processor_scheduler_parameters_for_a_live_change():
    assert processor.cpu_tuning({"Weight": 300, "Limit": 150}) == {
        "cpu_shares": 300, "global_period": 100000, "global_quota": 150000}
    assert processor.cpu_tuning({"Limit": 0}) == {"global_period": 100000, "global_quota": -1}
    assert processor.cpu_tuning({"VirtualQuantity": 2}) == {}
