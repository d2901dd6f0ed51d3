"""The ``virtcim`` command line: serve's settings, passwd and cert."""

from __future__ import annotations

import io
import ssl
import stat
import sys
import types
from pathlib import Path

import pytest

import virtcim
from tests.full_disk import small_disk
from virtcim.cli import main
from virtcim.config import ConfigError
from virtcim.http.auth import UsersFile, read_users
from virtcim.http.tls import listener_context, make_self_signed, server_context


class FakeStdin(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def served(monkeypatch) -> list:
    """Stands in for virtcim.app and records the settings ``serve`` was given."""
    calls: list = []
    fake_app = types.ModuleType("virtcim.app")
    fake_app.serve = lambda settings, load_settings=None: calls.append(settings) or 0
    monkeypatch.setitem(sys.modules, "virtcim.app", fake_app)
    return calls


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"virtcim {virtcim.__version__}"


def test_serve_builds_settings_from_flags(served):
    assert main(["serve", "--uri", "test:///default", "--uri", "qemu:///system", "--auth", "none",
                 "--http-port", "0", "--bind", "::1", "--state-dir", "/tmp/s"]) == 0  # fmt: skip
    [settings] = served
    assert settings.uris == ["test:///default", "qemu:///system"]
    assert (settings.http_port, settings.bind, settings.auth) == (0, ["::1"], "none")
    assert settings.state_dir == Path("/tmp/s")
    assert not settings.read_only


def test_serve_read_only_and_client_ca_flags(served):
    assert main(["serve", "--read-only", "--cert", "/c.pem", "--client-ca", "/ca.pem"]) == 0
    [settings] = served
    assert (settings.read_only, settings.client_ca) == (True, Path("/ca.pem"))


def test_serve_flags_override_the_config_file(served, tmp_path):
    config = tmp_path / "virtcim.toml"
    config.write_text('[server]\nhttp_port = 6000\nworkers = 3\n[libvirt]\nuris = ["a:///"]\n')
    assert main(["serve", "--config", str(config), "--http-port", "off", "--cert", "/c.pem"]) == 0
    [settings] = served
    assert (settings.http_port, settings.workers, settings.uris) == (None, 3, ["a:///"])


def test_serve_refuses_auth_none_on_a_public_address(served, capsys):
    assert main(["serve", "--auth", "none", "--bind", "0.0.0.0"]) == 2
    assert "auth none is refused" in capsys.readouterr().err
    assert served == []


def test_serve_rejects_a_bad_port(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--http-port", "http"])
    assert "not a port number" in capsys.readouterr().err


def test_passwd_reads_the_password_twice_from_stdin(tmp_path, monkeypatch):
    users = tmp_path / "users"
    monkeypatch.setattr(sys, "stdin", FakeStdin("s3cret\ns3cret\n"))
    assert main(["passwd", "--users", str(users), "alice"]) == 0
    assert UsersFile(users).check("alice", "s3cret")
    assert stat.S_IMODE(users.stat().st_mode) == 0o600


def test_passwd_with_differing_passwords_changes_nothing(tmp_path, monkeypatch, capsys):
    users = tmp_path / "users"
    monkeypatch.setattr(sys, "stdin", FakeStdin("one\ntwo\n"))
    assert main(["passwd", "--users", str(users), "alice"]) == 1
    assert not users.exists()
    assert "differ" in capsys.readouterr().err


def test_passwd_delete(tmp_path, monkeypatch):
    users = tmp_path / "users"
    monkeypatch.setattr(sys, "stdin", FakeStdin("pw\npw\n"))
    main(["passwd", "--users", str(users), "alice"])
    assert main(["passwd", "--users", str(users), "--delete", "alice"]) == 0
    assert read_users(users) == {}
    assert main(["passwd", "--users", str(users), "--delete", "alice"]) == 1


def test_cert_makes_a_loadable_certificate_with_a_private_key(tmp_path, capsys):
    assert main(["cert", "--out", str(tmp_path), "--host", "vm-host.example"]) == 0
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert server_context(cert, key) is not None
    assert str(cert) in capsys.readouterr().out


def test_serve_takes_the_ca_of_https_listeners(served):
    assert main(["serve", "--listener-ca", "/listeners.pem"]) == 0
    assert served[-1].listener_ca == Path("/listeners.pem")


def test_listener_certificates_are_checked_against_the_listener_ca_or_the_system_s(tmp_path):
    cert, _ = make_self_signed(tmp_path, host="127.0.0.1")
    for context in (listener_context(), listener_context(cert)):
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert listener_context(cert).get_ca_certs()[0]["subject"]
    with pytest.raises(ConfigError, match="listener CA"):
        listener_context(tmp_path / "missing.pem")


def test_cert_refuses_a_host_name_that_is_not_one(tmp_path, capsys):
    assert main(["cert", "--out", str(tmp_path), "--host", "x/CN=evil"]) == 2
    assert "not a host name" in capsys.readouterr().err


def test_passwd_on_a_full_disk_says_so_and_leaves_the_users_file_as_it_was(
        tmp_path, monkeypatch, capsys):
    with small_disk(tmp_path / "disk") as disk:
        users = disk.path / "users"
        monkeypatch.setattr(sys, "stdin", FakeStdin("pw\npw\n"))
        assert main(["passwd", "--users", str(users), "alice"]) == 0
        before = users.read_bytes()
        disk.fill()
        capsys.readouterr()
        for user in ("bob", "alice"):  # a new user, a new password
            monkeypatch.setattr(sys, "stdin", FakeStdin("pw2\npw2\n"))
            assert main(["passwd", "--users", str(users), user]) == 2
            assert capsys.readouterr().err.strip() == (
                f"virtcim: error: cannot write {users}: No space left on device")
            assert users.read_bytes() == before
            assert sorted(path.name for path in disk.path.iterdir()) == [".filler", "users"]
        disk.free()
        monkeypatch.setattr(sys, "stdin", FakeStdin("pw3\npw3\n"))
        assert main(["passwd", "--users", str(users), "bob"]) == 0
        assert sorted(read_users(users)) == ["alice", "bob"]
