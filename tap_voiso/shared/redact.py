"""Keeps the configured secrets out of everything the tap writes.

The secrets are the `api_key` and the password of an `api_url`. Whoever wrote the
text (a server or proxy echoing the `Authorization` header into its error body, its
HTML page or its reason phrase; an exception from requests or urllib3; the tap
itself), it reaches stderr as a log record (the CLI's ERROR line, the SDK's handler of
uncaught exceptions and every retry WARNING included) and stdout as a page's bytes.
So there are two doors and no call site to forget: `protect` installs a log record
factory that scrubs every record of every logger at its creation, message, traceback
and stack alike, and `scrub_bytes` is applied to each page body before anything reads
it. URLs lose their userinfo (`user:password@`) in both.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

REDACTED = "<redacted>"
# `user:password@` after `scheme://`: the userinfo of any URL in a text.
_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")


def display_url(url: str) -> str:
    """`url` as messages show it: without its userinfo."""
    return _USERINFO.sub("", url)


def secrets_of(config: Mapping[str, Any]) -> list[str]:
    """The configured secrets: the API key, and the password of `api_url` if it has one."""
    found: list[str] = []
    key = config.get("api_key")
    if isinstance(key, str) and key:
        found.append(key)
    url = config.get("api_url")
    if isinstance(url, str):
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            found += [password, unquote(password)]
    return found


def _spellings(secret: str) -> set[str]:
    """The ways a secret can appear in a text: as is, JSON-escaped, percent-encoded."""
    escaped = json.dumps(secret)[1:-1]
    return {secret, escaped, escaped.replace("/", "\\/"), quote(secret, safe="")}


class Secrets:
    """The secrets of the running tap, and the scrubbing of texts and bodies."""

    def __init__(self) -> None:
        self._texts: tuple[str, ...] = ()
        self._bytes: tuple[bytes, ...] = ()

    def set(self, secrets: Iterable[str]) -> None:
        """Protect these secrets (those of the tap being started) from now on."""
        spellings = {s for secret in secrets if secret for s in _spellings(secret)}
        ordered = sorted(spellings, key=len, reverse=True)  # longest first: no partial leftovers
        self._texts = tuple(ordered)
        self._bytes = tuple(s.encode() for s in ordered)

    def scrub(self, text: str) -> str:
        """`text` without any secret, and its URLs without userinfo."""
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _USERINFO.sub("", text) if "@" in text else text

    def scrub_bytes(self, body: bytes) -> bytes:
        """A response body without any secret (JSON-escaped spellings included)."""
        for secret in self._bytes:
            if secret in body:
                body = body.replace(secret, REDACTED.encode())
        return body

    def scrub_record(self, record: logging.LogRecord) -> None:
        """Rewrite a log record in place if its message, traceback or stack hold a secret."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it when it formats it
            message = None
        if message is not None:
            clean = self.scrub(message)
            if clean != message:
                record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            clean = self.scrub(text)
            if clean != text:  # formatters print `exc_text` in place of the exception
                record.exc_text, record.exc_info = clean, None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)


SECRETS = Secrets()
_install_lock = threading.Lock()
_previous_factory: Callable[..., logging.LogRecord] | None = None


def _scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None  # noqa: S101 (set before this factory is)
    record = _previous_factory(*args, **kwargs)
    SECRETS.scrub_record(record)
    return record


def protect(config: Mapping[str, Any]) -> None:
    """Scrub this configuration's secrets from every log record created from now on."""
    global _previous_factory  # noqa: PLW0603 (logging's record factory is process-wide)
    SECRETS.set(secrets_of(config))
    with _install_lock:
        if logging.getLogRecordFactory() is not _scrubbing_factory:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_scrubbing_factory)
