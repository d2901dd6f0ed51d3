"""HTTP Basic authentication against a users file or PAM.

:class:`BasicAuth` reads the ``Authorization`` header and asks a
:class:`PasswordChecker`: :class:`UsersFile` (virtcim's own file of salted
scrypt hashes, managed with ``virtcim passwd``) or :class:`PamChecker` (the
host's accounts, through libpam with ctypes). Both are slow on purpose, and
clients send their credentials with every request, so a successful check is
remembered for a short while under a keyed digest (never the password itself).
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
import functools
import hashlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from virtcim.config import ConfigError, Settings

log = logging.getLogger(__name__)

REALM = "virtcim"


class PasswordChecker(Protocol):
    def check(self, user: str, password: str) -> bool:
        """True when ``password`` is ``user``'s password."""


class BasicAuth:
    """Authenticates requests from their ``Authorization: Basic`` header.

    The transport answers a failed attempt only after :meth:`failed` seconds:
    ``failure_delay``, doubled for each further failure from the same client
    address within ``failure_window`` seconds, up to ``max_failure_delay``,
    which slows guessing down from one address without slowing the others.
    Successes are cached for ``cache_seconds``: a changed password or a
    deleted user takes effect after at most that long.
    """

    def __init__(
        self,
        checker: PasswordChecker,
        failure_delay: float = 0.25,
        cache_seconds: float = 60.0,
        cache_size: int = 256,
        max_failure_delay: float = 8.0,
        failure_window: float = 300.0,
    ) -> None:
        self.checker = checker
        self.failure_delay = failure_delay
        self.max_failure_delay = max_failure_delay
        self.failure_window = failure_window
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._cache_key = secrets.token_bytes(32)
        self._cache: dict[bytes, float] = {}
        #: Client address -> (failures in a row, time of the last).
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None, client: str = "") -> str | None:
        """The user name when the header carries valid credentials, else ``None``.

        Checking a password takes a while (it is meant to): call this from a
        thread that may wait. Failures are logged with ``client``, never with
        the password.
        """
        if authorization is None:
            return None
        credentials = parse_basic_credentials(authorization)
        if credentials is not None:
            user, password = credentials
            if self._remembered(user, password) or self._verify(user, password):
                return user
            log.warning("authentication failed for user %r from %s", user, client or "?")
        else:
            log.warning("authentication failed from %s: malformed Authorization header",
                        client or "?")
        return None

    def failed(self, address: str) -> float:
        """Count a failed attempt from ``address``; the seconds to wait before answering it."""
        now = time.monotonic()
        with self._lock:
            count, last = self._failures.get(address, (0, now))
            if now - last > self.failure_window:
                count = 0
            if len(self._failures) >= 4096 and address not in self._failures:
                self._failures.clear()  # a flood of addresses: start counting afresh
            self._failures[address] = (count + 1, now)
        return min(self.failure_delay * 2**min(count, 16), self.max_failure_delay)

    def succeeded(self, address: str) -> None:
        """Forget the failed attempts from ``address``."""
        with self._lock:
            self._failures.pop(address, None)

    def remembered(self, authorization: str | None) -> str | None:
        """The user name when the header carries credentials that passed a check a short
        while ago (see ``cache_seconds``), else ``None``; quick."""
        credentials = parse_basic_credentials(authorization) if authorization else None
        if credentials is not None and self._remembered(*credentials):
            return credentials[0]
        return None

    def _verify(self, user: str, password: str) -> bool:
        if not self.checker.check(user, password):
            return False
        with self._lock:
            if len(self._cache) >= self.cache_size:
                self._forget_expired()
            if len(self._cache) < self.cache_size:
                self._cache[self._digest(user, password)] = time.monotonic() + self.cache_seconds
        return True

    def _remembered(self, user: str, password: str) -> bool:
        with self._lock:
            expiry = self._cache.get(self._digest(user, password))
        return expiry is not None and expiry > time.monotonic()

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for digest in [d for d, expiry in self._cache.items() if expiry <= now]:
            del self._cache[digest]

    def _digest(self, user: str, password: str) -> bytes:
        message = user.encode() + b"\0" + password.encode()
        return hmac.digest(self._cache_key, message, "sha256")


def parse_basic_credentials(authorization: str) -> tuple[str, str] | None:
    """``(user, password)`` from a Basic ``Authorization`` header value, or ``None``.

    Credentials are decoded as UTF-8 (RFC 7617), falling back to Latin-1,
    which is what older clients send.
    """
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    user, colon, password = text.partition(":")
    if not colon or not user:
        return None
    return user, password


def authenticator_for(settings: Settings) -> BasicAuth | None:
    """The authenticator ``settings.auth`` asks for (``None`` for ``none``).

    Raises :class:`ConfigError` when the users file or libpam cannot be used,
    so that the problem shows at start-up and not at the first request.
    """
    if settings.auth == "file":
        return BasicAuth(UsersFile(settings.users))
    if settings.auth == "pam":
        return BasicAuth(PamChecker(settings.pam_service))
    return None


# --- users file ---------------------------------------------------------------------------------

#: scrypt cost: 2**14 x 8 uses 16 MiB and about 50 ms per check.
_SCRYPT_LOG2_N = 14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCHEME = "scrypt"


def hash_password(password: str) -> str:
    """The ``scrypt$ln=14,r=8,p=1$<salt>$<hash>`` form of ``password`` with a fresh salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P)
    params = f"ln={_SCRYPT_LOG2_N},r={_SCRYPT_R},p={_SCRYPT_P}"
    return "$".join((_SCHEME, params, _b64(salt), _b64(digest)))


def verify_password(password: str, hashed: str) -> bool:
    """True when ``password`` matches ``hashed`` (from :func:`hash_password`).

    Unknown schemes and malformed entries never match.
    """
    try:
        scheme, params, salt, digest = hashed.split("$")
        cost = dict(item.split("=", 1) for item in params.split(","))
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(
            password,
            base64.b64decode(salt, validate=True),
            int(cost["ln"]),
            int(cost["r"]),
            int(cost["p"]),
        )
    except (ValueError, KeyError, binascii.Error):
        return False
    return scheme == _SCHEME and hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if not (1 <= log2_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4):
        raise ValueError("scrypt cost out of range")
    return hashlib.scrypt(
        password.encode(), salt=salt, n=2**log2_n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class UsersFile:
    """A file of ``user:hash`` lines, re-read whenever it changes on disk.

    The file must exist and must not be writable by everyone: anyone who can
    write it can let themselves in. When it turns unreadable or unsafe while
    the server runs, every check fails (and the reason is logged) until it is
    fixed.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._hashes: dict[str, str] = {}
        self._reload()

    def check(self, user: str, password: str) -> bool:
        try:
            hashes = self._current()
        except ConfigError as error:
            log.error("%s", error)
            return False
        hashed = hashes.get(user)
        if hashed is None:
            # Spend the same time as for a known user, so that timing does not tell names apart.
            verify_password(password, _dummy_hash())
            return False
        return verify_password(password, hashed)

    def _current(self) -> dict[str, str]:
        with self._lock:
            if self._signature != _signature(_safe_stat(self.path)):
                self._reload()
            return self._hashes

    def _reload(self) -> None:
        status = _safe_stat(self.path)
        self._hashes = read_users(self.path)
        self._signature = _signature(status)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))


def _signature(status: os.stat_result) -> tuple[int, int, int]:
    return status.st_mtime_ns, status.st_size, status.st_ino


def _safe_stat(path: Path) -> os.stat_result:
    try:
        status = path.stat()
    except OSError as error:
        raise ConfigError(f"users file {path}: {error.strerror}") from error
    if status.st_mode & stat.S_IWOTH:
        raise ConfigError(f"users file {path} is writable by everyone; chmod o-w it (0600 is best)")
    return status


def read_users(path: Path) -> dict[str, str]:
    """User name -> password hash, from the users file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read users file {path}: {error}") from error
    hashes = {}
    for line in text.splitlines():
        user, colon, hashed = line.strip().partition(":")
        if colon and user and not user.startswith("#"):
            hashes[user] = hashed
    return hashes


def set_password(path: Path, user: str, password: str) -> None:
    """Add ``user`` to the users file, or change their password; creates the file (mode 0600)."""
    if not user or any(c in user for c in ":\n\r") or user.startswith("#"):
        raise ValueError(f"user name {user!r} must be non-empty, without ':' or line breaks")
    if not password:
        raise ValueError("the password must not be empty")
    users = read_users(path) if path.exists() else {}
    users[user] = hash_password(password)
    _write_users(path, users)


def delete_user(path: Path, user: str) -> bool:
    """Remove ``user`` from the users file; ``False`` when they were not in it."""
    users = read_users(path)
    if users.pop(user, None) is None:
        return False
    _write_users(path, users)
    return True


def _write_users(path: Path, users: dict[str, str]) -> None:
    """Replace the file atomically, so the server never reads a half-written one."""
    text = "".join(f"{user}:{hashed}\n" for user, hashed in users.items())
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# --- PAM ------------------------------------------------------------------------------------------

_PAM_SUCCESS = 0
_PAM_PROMPT_ECHO_OFF = 1
_PAM_PROMPT_ECHO_ON = 2
_PAM_BUF_ERR = 5
_PAM_CONV_ERR = 19
_PAM_FAIL_DELAY = 10
_PAM_SILENT = 0x8000


class PamMessage(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class PamResponse(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("resp_retcode", ctypes.c_int)]


PamConversationFunction = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_int,
    ctypes.POINTER(ctypes.POINTER(PamMessage)),
    ctypes.POINTER(ctypes.POINTER(PamResponse)),
    ctypes.c_void_p,
)

PamDelayFunction = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p)


class PamConversation(ctypes.Structure):
    _fields_ = [("conv", PamConversationFunction), ("appdata_ptr", ctypes.c_void_p)]


def _load_libpam() -> Any:
    name = ctypes.util.find_library("pam") or "libpam.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError as error:
        raise ConfigError(f"auth pam: cannot load libpam ({error}); install libpam0g") from error
    lib.pam_start.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.POINTER(PamConversation),
        ctypes.POINTER(ctypes.c_void_p),
    ]
    lib.pam_authenticate.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.pam_acct_mgmt.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.pam_end.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.pam_set_item.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    return lib


_libc = ctypes.CDLL(None)
_libc.calloc.restype = ctypes.c_void_p
_libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
_libc.strdup.restype = ctypes.c_void_p
_libc.strdup.argtypes = [ctypes.c_char_p]
_libc.free.argtypes = [ctypes.c_void_p]


@PamDelayFunction
def _no_pam_delay(status: int, usec: int, appdata: int) -> None:
    """Replaces PAM's own failure delay (seconds, in login's stack): BasicAuth has its own."""


class PamChecker:
    """Checks passwords of the host's accounts with PAM (authentication and account checks).

    The service is ``service`` when given, else ``virtcim`` when
    ``/etc/pam.d/virtcim`` exists, else ``login``. Reading shadow passwords
    through ``pam_unix`` needs root (or the ``shadow`` group). ``lib`` lets
    tests stand in for libpam.
    """

    def __init__(
        self, service: str | None = None, lib: Any = None, pam_dir: Path = Path("/etc/pam.d")
    ):
        self.lib = lib if lib is not None else _load_libpam()
        if service is None:
            service = "virtcim" if (pam_dir / "virtcim").exists() else "login"
        self.service = service

    def check(self, user: str, password: str) -> bool:
        conversation = PamConversation(_conversation_answering(user, password), None)
        handle = ctypes.c_void_p()
        status = self.lib.pam_start(
            self.service.encode(), user.encode(), ctypes.byref(conversation), ctypes.byref(handle)
        )
        if status != _PAM_SUCCESS:
            log.error("pam_start(%s) failed with status %d", self.service, status)
            return False
        try:
            self.lib.pam_set_item(
                handle, _PAM_FAIL_DELAY, ctypes.cast(_no_pam_delay, ctypes.c_void_p)
            )
            status = self.lib.pam_authenticate(handle, _PAM_SILENT)
            if status == _PAM_SUCCESS:
                status = self.lib.pam_acct_mgmt(handle, _PAM_SILENT)
            return status == _PAM_SUCCESS
        finally:
            self.lib.pam_end(handle, status)


def _conversation_answering(user: str, password: str) -> Any:
    """A PAM conversation function that answers prompts with ``password`` (or ``user`` when echoed).

    PAM frees the responses, so they are allocated with the C library.
    """

    def converse(count: int, messages: Any, responses: Any, appdata: Any) -> int:
        block = _libc.calloc(count, ctypes.sizeof(PamResponse))
        if not block:
            return _PAM_BUF_ERR
        replies = ctypes.cast(block, ctypes.POINTER(PamResponse))
        for index in range(count):
            style = messages[index].contents.msg_style
            if style == _PAM_PROMPT_ECHO_OFF:
                replies[index].resp = _libc.strdup(password.encode())
            elif style == _PAM_PROMPT_ECHO_ON:
                replies[index].resp = _libc.strdup(user.encode())
        responses[0] = replies
        return _PAM_SUCCESS

    return PamConversationFunction(converse)
