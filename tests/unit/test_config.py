"""Settings: defaults, the TOML file, flag precedence and validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from virtcim.config import ConfigError, Settings, is_loopback, load_settings

EXAMPLE = Path(__file__).parents[2] / "packaging" / "virtcim.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "virtcim.toml"
    path.write_text(text)
    return path


def test_defaults_listen_on_loopback_without_auth():
    settings = load_settings()
    assert (settings.bind, settings.http_port, settings.https_enabled) == (
        ["127.0.0.1"],
        5988,
        False,
    )
    assert settings.auth == "none"
    assert settings.uris == []


def test_toml_file_sets_every_table(tmp_path):
    path = write(
        tmp_path,
        """
        [server]
        bind = ["::1"]
        http_port = "off"
        https_port = 15989
        workers = 4
        read_timeout = 5
        state_dir = "/tmp/state"
        [tls]
        cert = "/etc/virtcim/server.pem"
        key = "/etc/virtcim/server.key"
        listener_ca = "/etc/virtcim/listeners.pem"
        [auth]
        method = "file"
        users = "/etc/virtcim/users"
        [libvirt]
        uris = ["qemu:///system", "lxc:///system"]
        [logging]
        level = "debug"
        """,
    )
    settings = load_settings(path)
    assert settings.http_port is None and settings.https_port == 15989 and settings.https_enabled
    assert (settings.workers, settings.read_timeout, settings.state_dir) == (
        4,
        5.0,
        Path("/tmp/state"),
    )
    assert (settings.auth, settings.users) == ("file", Path("/etc/virtcim/users"))
    assert settings.uris == ["qemu:///system", "lxc:///system"]
    assert settings.log_level == "debug"
    assert settings.listener_ca == Path("/etc/virtcim/listeners.pem")


def test_flags_override_the_file(tmp_path):
    path = write(tmp_path, '[server]\nhttp_port = 6000\nworkers = 3\n[libvirt]\nuris = ["a:///"]\n')
    settings = load_settings(path, http_port=7000, uris=["test:///default"])
    assert (settings.http_port, settings.workers, settings.uris) == (7000, 3, ["test:///default"])


def test_a_flag_can_turn_a_listener_off(tmp_path):
    path = write(tmp_path, '[server]\nhttp_port = 6000\n[tls]\ncert = "/c.pem"\n')
    assert load_settings(path, http_port=None).http_port is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nport = 1\n", "unknown setting 'server.port'"),
        ("[nonsense]\nx = 1\n", "unknown setting 'nonsense.x'"),
        ('[server]\nworkers = "many"\n', "server.workers must be an integer"),
        ('[server]\nbind = "0.0.0.0"\n', "server.bind must be a list of strings"),
        ("[server]\nhttp_port = 70000\n", "server.http_port: 70000 is not a port number"),
        ("[server]\nhttp_port = true\n", "server.http_port must be an integer"),
        ("server = 1\n", "'server' must be a table"),
        ("[server\n", "virtcim.toml"),
    ],
)
def test_bad_file_contents_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings(write(tmp_path, text))


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.toml")


def test_auth_none_is_refused_on_a_reachable_address():
    with pytest.raises(ConfigError, match="auth none is refused.*0.0.0.0"):
        load_settings(bind=["127.0.0.1", "0.0.0.0"], auth="none")


def test_auth_defaults_to_pam_when_any_address_is_reachable():
    assert load_settings(bind=["::"]).auth == "pam"
    assert load_settings(bind=["127.0.0.2", "::1", "localhost"]).auth == "none"


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("127.5.6.7", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.0.2.1", False), ("no-such-host.invalid", False)],
)  # fmt: skip
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": Path("/k")}, "key is set but cert is not"),
        ({"http_port": None}, "no listener"),
        ({"workers": 0}, "workers"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"log_level": "loud"}, "log_level"),
        ({"auth": "kerberos"}, "auth"),
        ({"bind": []}, "bind"),
    ],
)
def test_inconsistent_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        Settings(**changes).checked()


def test_unknown_override_is_refused():
    with pytest.raises(ConfigError, match="colour"):
        load_settings(colour="blue")


def test_the_packaged_example_configuration_loads():
    settings = load_settings(EXAMPLE)
    assert settings.auth in ("pam", "file", "none")


def test_roles_are_read_per_namespace(tmp_path):
    path = write(tmp_path, '[roles."root/virt"]\nfull = ["alice", "@libvirt"]\n'
                           '[roles."*"]\nread-only = ["*"]\n[server]\nread_only = true\n')
    settings = load_settings(path)
    assert settings.roles == {"root/virt": {"full": ["alice", "@libvirt"]},
                              "*": {"read-only": ["*"]}}
    assert settings.read_only is True


@pytest.mark.parametrize(("text", "message"), [
    ('[roles."root/virt"]\nadmin = ["alice"]\n', "'admin' is not one of read-only, full"),
    ('[roles."root/virt"]\nfull = "alice"\n', "roles.root/virt.full must be a list of strings"),
    ('[roles]\nfull = ["alice"]\n', "roles.full must be a table"),
    ("[server]\nread_only = 1\n", "server.read_only must be true or false"),
])
def test_bad_roles_are_refused(tmp_path, text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(write(tmp_path, text))
