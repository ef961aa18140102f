"""How a failed request reads: one line naming the host and the cause.

An exception from requests or urllib3 nests the socket's error two or three levels
down and prints the request's headers on the way; the operator needs the host and what
went wrong (a name that does not resolve, a refused port, a dropped connection, an
untrusted certificate), and never the key. Retrying is `retries.py`'s, the messages
that stop a run are `api.py`'s.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError, ProtocolError


def _host(exc: BaseException) -> str:
    """`host:port` of the request that failed, when the exception knows it."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if not isinstance(url, str):
        return "the API host"
    return urlsplit(url).netloc.rpartition("@")[2]  # never the userinfo (a password)


def causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (urllib3 nests the socket error two levels down)."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(found) < 10:
        current = todo.pop()
        found.append(current)
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        todo += [c for c in (current.__cause__, current.__context__) if c is not None]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return found


def unresolved(exc: BaseException) -> bool:
    """Whether the host name did not resolve: almost always a misspelt setting."""
    return any(isinstance(c, (socket.gaierror, NameResolutionError)) for c in causes(exc))


def describe(exc: BaseException | None) -> str:
    """One line about a failure naming the host and the cause, free of headers (and the key)."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, requests.exceptions.Timeout):
        name = type(exc).__name__  # a whole response (its body included) must arrive in time
        return f"no complete response from {_host(exc)} within `request_timeout` ({name})"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionResetError)):
        return _connection_problem(exc)
    return str(exc) or type(exc).__name__


def _connection_problem(exc: BaseException) -> str:
    found = causes(exc)
    if unresolved(exc):
        return f"could not resolve host {_host(exc)}"
    if any(isinstance(c, ConnectionRefusedError) for c in found):
        return f"connection to {_host(exc)} refused (nothing listens there)"
    if any(isinstance(c, ProtocolError) for c in found):
        return f"connection to {_host(exc)} dropped mid-response"
    return f"connection to {_host(exc)} failed ({type(found[-1]).__name__})"


def describe_certificate(exc: BaseException) -> str:
    """What the certificate check said, as OpenSSL put it."""
    for cause in causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or str(cause)
    return str(exc)
