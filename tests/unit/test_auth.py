"""Basic authentication: header parsing, the users file, the success cache and PAM."""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import os
import stat
from pathlib import Path

import pytest

from virtcim.config import ConfigError, Settings
from virtcim.http import auth
from virtcim.http.auth import (
    BasicAuth,
    PamChecker,
    UsersFile,
    authenticator_for,
    delete_user,
    hash_password,
    parse_basic_credentials,
    read_users,
    set_password,
    verify_password,
)


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


# --- the header --------------------------------------------------------------------------------


def test_basic_credentials_are_split_at_the_first_colon():
    assert parse_basic_credentials(basic("alice:pa:ss word")) == ("alice", "pa:ss word")
    assert parse_basic_credentials(basic("jürgen:ö")) == ("jürgen", "ö")


@pytest.mark.parametrize(
    "header",
    ["Bearer abc", "Basic !!!notbase64", basic("no-colon"), basic(":password-only"), "Basic"],
)
def test_malformed_authorization_headers_give_no_credentials(header):
    assert parse_basic_credentials(header) is None


# --- password hashes and the users file ---------------------------------------------------------


def test_hash_verifies_only_its_own_password():
    hashed = hash_password("s3cret")
    assert hashed.startswith("scrypt$")
    assert verify_password("s3cret", hashed)
    assert not verify_password("s3cret ", hashed)


def test_same_password_gives_different_salted_hashes(tmp_path):
    users = tmp_path / "users"
    set_password(users, "alice", "same")
    set_password(users, "bob", "same")
    hashes = read_users(users)
    assert hashes["alice"] != hashes["bob"]


@pytest.mark.parametrize("hashed", ["", "md5$x$y$z", "scrypt$ln=30,r=8,p=1$AAAA$AAAA", "scrypt$$$"])
def test_malformed_or_unknown_hashes_never_match(hashed):
    assert not verify_password("", hashed)


def test_passwd_creates_a_private_file_and_changes_and_deletes_users(tmp_path):
    users = tmp_path / "users"
    set_password(users, "alice", "one")
    set_password(users, "bob", "two")
    set_password(users, "alice", "three")
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    checker = UsersFile(users)
    assert checker.check("alice", "three") and not checker.check("alice", "one")
    assert delete_user(users, "alice") is True
    assert delete_user(users, "alice") is False
    assert sorted(read_users(users)) == ["bob"]
    assert stat.S_IMODE(users.stat().st_mode) == 0o600


@pytest.mark.parametrize("user", ["", "a:b", "line\nbreak", "#comment"])
def test_user_names_that_would_break_the_file_are_refused(tmp_path, user):
    with pytest.raises(ValueError):
        set_password(tmp_path / "users", user, "pw")


def test_empty_password_is_refused(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        set_password(tmp_path / "users", "alice", "")


def test_users_file_is_reread_when_it_changes(tmp_path):
    users = tmp_path / "users"
    set_password(users, "alice", "old")
    checker = UsersFile(users)
    assert checker.check("alice", "old")
    set_password(users, "alice", "new")
    assert checker.check("alice", "new")
    assert not checker.check("alice", "old")


def test_unknown_user_is_refused(tmp_path):
    users = tmp_path / "users"
    set_password(users, "alice", "pw")
    assert not UsersFile(users).check("mallory", "pw")


def test_world_writable_users_file_is_refused_at_start_up(tmp_path):
    users = tmp_path / "users"
    set_password(users, "alice", "pw")
    users.chmod(0o666)
    with pytest.raises(ConfigError, match="writable by everyone"):
        UsersFile(users)


def test_users_file_made_world_writable_later_admits_nobody(tmp_path):
    users = tmp_path / "users"
    set_password(users, "alice", "pw")
    checker = UsersFile(users)
    users.chmod(0o646)
    assert not checker.check("alice", "pw")


def test_missing_users_file_is_a_start_up_error(tmp_path):
    settings = Settings(auth="file", users=tmp_path / "absent").checked()
    with pytest.raises(ConfigError, match="absent"):
        authenticator_for(settings)


# --- BasicAuth ------------------------------------------------------------------------------------


class CountingChecker:
    def __init__(self, passwords: dict[str, str]) -> None:
        self.passwords = passwords
        self.calls = 0

    def check(self, user: str, password: str) -> bool:
        self.calls += 1
        return self.passwords.get(user) == password


def test_basic_auth_returns_the_user_only_for_right_credentials():
    authenticator = BasicAuth(CountingChecker({"alice": "pw"}), failure_delay=0)
    assert authenticator.authenticate(basic("alice:pw")) == "alice"
    assert authenticator.authenticate(basic("alice:wrong")) is None
    assert authenticator.authenticate(None) is None
    assert authenticator.authenticate("Basic ???") is None


def test_successful_checks_are_remembered_for_a_while():
    checker = CountingChecker({"alice": "pw"})
    authenticator = BasicAuth(checker, failure_delay=0)
    for _ in range(3):
        assert authenticator.authenticate(basic("alice:pw")) == "alice"
    assert checker.calls == 1
    assert authenticator.authenticate(basic("alice:other")) is None
    assert checker.calls == 2


def test_remembered_success_expires():
    checker = CountingChecker({"alice": "pw"})
    authenticator = BasicAuth(checker, failure_delay=0, cache_seconds=0)
    authenticator.authenticate(basic("alice:pw"))
    authenticator.authenticate(basic("alice:pw"))
    assert checker.calls == 2


def test_failures_are_never_logged_with_the_password(caplog):
    caplog.set_level("DEBUG")
    BasicAuth(CountingChecker({}), failure_delay=0).authenticate(basic("alice:hunter2"))
    assert "alice" in caplog.text and "hunter2" not in caplog.text


# --- PAM --------------------------------------------------------------------------------------


class FakeLibpam:
    """Stands in for libpam: runs the conversation as pam_unix would and checks the answer."""

    def __init__(self, passwords: dict[str, str]) -> None:
        self.passwords = passwords
        self.services: list[str] = []
        self.ended = 0

    def pam_start(self, service, user, conversation, handle_pointer):
        self.services.append(service.decode())
        self.user = user.decode()
        self.conversation = ctypes.cast(conversation, ctypes.POINTER(auth.PamConversation)).contents
        return 0

    def pam_set_item(self, handle, item, value):
        return 0

    def pam_authenticate(self, handle, flags):
        message = auth.PamMessage(auth._PAM_PROMPT_ECHO_OFF, b"Password: ")
        messages = (ctypes.POINTER(auth.PamMessage) * 1)(ctypes.pointer(message))
        responses = ctypes.POINTER(auth.PamResponse)()
        status = self.conversation.conv(1, messages, ctypes.byref(responses), None)
        answer = ctypes.string_at(responses[0].resp).decode()
        auth._libc.free(responses[0].resp)
        auth._libc.free(ctypes.cast(responses, ctypes.c_void_p))
        ok = status == 0 and self.passwords.get(self.user) == answer
        return 0 if ok else 7  # PAM_AUTH_ERR

    def pam_acct_mgmt(self, handle, flags):
        return 0

    def pam_end(self, handle, status):
        self.ended += 1
        return 0


def test_pam_conversation_answers_the_password_prompt(tmp_path):
    lib = FakeLibpam({"alice": "pw"})
    checker = PamChecker(lib=lib, pam_dir=tmp_path)
    assert checker.check("alice", "pw")
    assert not checker.check("alice", "wrong")
    assert lib.ended == 2


def test_pam_service_is_virtcim_when_configured_else_login(tmp_path):
    assert PamChecker(lib=FakeLibpam({}), pam_dir=tmp_path).service == "login"
    (tmp_path / "virtcim").write_text("auth required pam_deny.so\n")
    assert PamChecker(lib=FakeLibpam({}), pam_dir=tmp_path).service == "virtcim"
    assert PamChecker("other", lib=FakeLibpam({})).service == "other"


@pytest.mark.skipif(ctypes.util.find_library("pam") is None, reason="needs libpam (libpam0g)")
@pytest.mark.skipif(not Path("/etc/pam.d/login").exists(), reason="needs the PAM 'login' service")
def test_real_pam_refuses_an_unknown_user():
    assert PamChecker("login").check("virtcim-no-such-user", "x") is False


def test_authenticator_for_settings():
    assert authenticator_for(Settings(auth="none").checked()) is None


def test_users_file_is_private_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        set_password(tmp_path / "users", "alice", "pw")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "users").stat().st_mode) == 0o600


def test_failures_from_one_address_are_answered_ever_later_and_others_are_not():
    authenticator = BasicAuth(CountingChecker({}), failure_delay=0.25, max_failure_delay=2.0)
    delays = [authenticator.failed("192.0.2.1") for _ in range(6)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert authenticator.failed("192.0.2.2") == 0.25
    authenticator.succeeded("192.0.2.1")
    assert authenticator.failed("192.0.2.1") == 0.25


def test_failures_are_forgotten_after_the_window():
    authenticator = BasicAuth(CountingChecker({}), failure_delay=1.0, failure_window=0.0)
    assert [authenticator.failed("192.0.2.1") for _ in range(3)] == [1.0, 1.0, 1.0]


def test_a_failure_is_logged_with_the_client_address(caplog):
    BasicAuth(CountingChecker({}), failure_delay=0).authenticate(basic("alice:x"), "192.0.2.7:9")
    assert "'alice' from 192.0.2.7:9" in caplog.text and ":x" not in caplog.text
