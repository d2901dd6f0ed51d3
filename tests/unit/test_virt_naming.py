"""Class prefixes, InstanceIDs and device ids in libvirt-cim's formats."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.virt import naming

HOSTILE_NAMES = [
    "web1",
    'it\'s "quoted"',
    "<script>&amp;</script>",
    "../../etc/passwd",
    "a:b:c",
    "x" * 1000,
    "<script>&amp;</script>x",
    "Ünïcødé ☃",
    "  spaced  ",
]


@pytest.mark.parametrize(
    ("uri", "driver", "prefix"),
    [
        ("qemu:///system", "qemu", "KVM"),
        ("qemu+ssh://root@host/system", "qemu", "KVM"),
        ("qemu+tls://host.example/session?no_verify=1", "qemu", "KVM"),
        ("kvm:///system", "kvm", "KVM"),
        ("xen:///system", "xen", "Xen"),
        ("xen", "xen", "Xen"),
        ("libxl://host/", "libxl", "Xen"),
        ("lxc:///system", "lxc", "LXC"),
        ("lxc+unix:///system", "lxc", "LXC"),
        ("test:///default", "test", "Test"),
        ("vbox:///session", "vbox", "Vbox"),
        ("bhyve:///system", "bhyve", "Bhyve"),
        ("ch:///system", "ch", "Ch"),
    ],
)
def test_prefix_follows_the_uri_driver(uri, driver, prefix):
    assert naming.driver_from_uri(uri) == driver
    assert naming.prefix_for_driver(driver) == prefix


def test_empty_uri_has_no_driver_until_connected():
    assert naming.driver_from_uri("") is None


@pytest.mark.parametrize(
    ("conn_type", "prefix"), [("QEMU", "KVM"), ("Xen", "Xen"), ("LXC", "LXC"), ("TEST", "Test")]
)
def test_prefix_from_connection_type(conn_type, prefix):
    assert naming.prefix_for_driver(conn_type) == prefix


@pytest.mark.parametrize("bad", ["+ssh://host", "://x", "1qemu:///"])
def test_uri_without_driver_is_refused(bad):
    with pytest.raises(ValueError, match="driver"):
        naming.driver_from_uri(bad)


def test_driver_that_cannot_name_a_class_is_refused():
    with pytest.raises(ValueError, match="cannot name a CIM class"):
        naming.prefix_for_driver("vmware-esx")


def test_classname_round_trip():
    name = naming.classname("KVM", "ComputerSystem")
    assert name == "KVM_ComputerSystem"
    assert naming.split_classname(name) == ("KVM", "ComputerSystem")
    assert naming.split_classname("KVM_VirtualSystemManagementService") == (
        "KVM", "VirtualSystemManagementService")  # fmt: skip


@pytest.mark.parametrize("bad", ["ComputerSystem", "_ComputerSystem", "KVM_"])
def test_classname_without_prefix_is_refused(bad):
    with pytest.raises(ValueError, match="<Prefix>_<Name>"):
        naming.split_classname(bad)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_vssd_instance_id_round_trips(name):
    instance_id = naming.vssd_instance_id("KVM", name)
    assert instance_id == f"KVM:{name}"
    assert naming.parse_vssd_instance_id(instance_id) == ("KVM", name)


@pytest.mark.parametrize("name", [name for name in HOSTILE_NAMES if "/" not in name])
@pytest.mark.parametrize("device", ["vda", "52:54:00:12:34:56", "proc", "mem", "vnc", "mouse:ps2",
                                    "charconsole:0", "controller:scsi:-1", "/lxc_mnt/tmp"])  # fmt: skip
def test_rasd_instance_id_round_trips(name, device):
    instance_id = naming.rasd_instance_id(name, device)
    assert instance_id == f"{name}/{device}"
    assert naming.parse_rasd_instance_id(instance_id) == (name, device)


@given(st.text(min_size=1).filter(lambda s: "/" not in s), st.text(min_size=1))
def test_any_slash_free_domain_name_round_trips_in_a_rasd_instance_id(name, device):
    assert naming.parse_rasd_instance_id(naming.rasd_instance_id(name, device)) == (name, device)


@given(st.text(min_size=1).filter(lambda s: "/" not in s), st.text(min_size=1))
def test_any_slash_free_domain_name_round_trips_in_a_snapshot_instance_id(name, snapshot):
    instance_id = naming.snapshot_instance_id("KVM", name, snapshot)
    assert instance_id == f"KVM:{name}/{snapshot}"
    assert naming.parse_snapshot_instance_id(instance_id) == ("KVM", name, snapshot)


@pytest.mark.parametrize("name", [name for name in HOSTILE_NAMES if "/" in name])
def test_domain_name_with_a_slash_is_refused_in_a_snapshot_instance_id(name):
    with pytest.raises(ValueError, match="holds '/'"):
        naming.snapshot_instance_id("KVM", name, "s1")


@pytest.mark.parametrize("name", ["s1", "before upgrade", "ü" * 255, "..", "-"])
def test_a_printable_slash_free_name_can_name_a_file(name):
    naming.check_file_name(name, 255)


@pytest.mark.parametrize("name", ["a/b", "/", "tab\there", "line\n", "x" * 256, "\x00"])
def test_other_names_cannot_name_a_file(name):
    with pytest.raises(ValueError, match="must be printable, at most 255 characters"):
        naming.check_file_name(name, 255)


@pytest.mark.parametrize("name", [name for name in HOSTILE_NAMES if "/" in name])
def test_domain_name_with_a_slash_is_refused_in_a_rasd_instance_id(name):
    # libvirt refuses such names too ("name a/b cannot contain '/'")
    with pytest.raises(ValueError, match="holds '/'"):
        naming.rasd_instance_id(name, "vda")


@pytest.mark.parametrize(
    ("parse", "bad"),
    [
        (naming.parse_vssd_instance_id, "web1"),
        (naming.parse_vssd_instance_id, ":web1"),
        (naming.parse_vssd_instance_id, "KVM:"),
        (naming.parse_vssd_instance_id, "K-VM:web1"),
        (naming.parse_rasd_instance_id, "web1"),
        (naming.parse_rasd_instance_id, "/vda"),
        (naming.parse_rasd_instance_id, "web1/"),
        (naming.parse_snapshot_instance_id, "KVM:web1"),
        (naming.parse_snapshot_instance_id, "web1/s1"),
        (naming.parse_snapshot_instance_id, "KVM:web1/"),
        (naming.parse_snapshot_instance_id, "KVM:/s1"),
        (naming.parse_pool_instance_id, "DiskPool"),
        (naming.parse_pool_instance_id, "Disk/default"),
        (naming.parse_pool_instance_id, "Pool/default"),
        (naming.parse_pool_instance_id, "DiskPool/"),
    ],
)
def test_malformed_instance_ids_raise_value_error_naming_them(parse, bad):
    with pytest.raises(ValueError, match="InstanceID"):
        parse(bad)


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, "nested/pool", naming.PRIMORDIAL_POOL])
def test_pool_instance_id_round_trips(name):
    instance_id = naming.pool_instance_id("Disk", name)
    assert instance_id == f"DiskPool/{name}"
    assert naming.parse_pool_instance_id(instance_id) == ("Disk", name)


def test_empty_names_are_refused():
    with pytest.raises(ValueError):
        naming.vssd_instance_id("KVM", "")
    with pytest.raises(ValueError):
        naming.rasd_instance_id("web1", "")
    with pytest.raises(ValueError):
        naming.pool_instance_id("Disk", "")


def test_device_ids_in_libvirt_cim_forms():
    assert naming.input_device_id("mouse", "ps2") == "mouse:ps2"
    assert naming.chardev_device_id("console", 0) == "charconsole:0"
    assert naming.controller_device_id("scsi", 0) == "controller:scsi:0"
    assert naming.controller_device_id("usb", None) == "controller:usb:-1"
    assert (naming.PROCESSOR_DEVICE_ID, naming.MEMORY_DEVICE_ID) == ("proc", "mem")


@pytest.mark.parametrize(("prefix", "classname", "expected"), [
    ("KVM", "KVM_LogicalDisk", "LogicalDisk"),
    ("KVM", "kvm_LogicalDisk", "LogicalDisk"),
    ("KVM", "Xen_LogicalDisk", None),
    ("KVM", "CIM_LogicalDisk", None),
    ("KVM", "NoPrefix", None),
])
def test_generic_names_belong_to_one_prefix(prefix, classname, expected):
    assert naming.generic_name(prefix, classname) == expected
