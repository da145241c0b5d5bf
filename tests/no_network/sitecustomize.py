"""A network tripwire for child processes: put this folder first on PYTHONPATH and Python loads it at start-up.

Any connection to, datagram to or name lookup of an address outside the loopback (127.0.0.0/8, ::1,
"localhost") raises ConnectionRefusedError and is appended to the file named by $REVIVE_NETWORK_LOG, so a test
sees the attempt even when the code under test swallows the error. Unix sockets are allowed. It covers what
Python code does (httpx, urllib, asyncio, gradio, huggingface_hub); native libraries that open their own
sockets (ONNX Runtime's telemetry, FFmpeg) are outside its reach.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOG = os.environ.get("REVIVE_NETWORK_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the wildcard or loopback address, for a server to bind
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).split("%", 1)[0]  # an IPv6 scope
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: looking it up may ask a DNS server
    return address.is_loopback or address.is_unspecified


def _refuse(what: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {what}\n")
    raise ConnectionRefusedError(f"network access outside the loopback in a test: {what}")


def _check(sock: socket.socket, address: object, what: str) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):  # type: ignore[index]
        _refuse(f"{what} {address!r}")


def _guard(name: str) -> None:
    original = getattr(socket.socket, name)

    def guarded(self: socket.socket, *args: object):
        _check(self, args[-1], name)  # the address is the last argument of connect, connect_ex and sendto
        return original(self, *args)

    setattr(socket.socket, name, guarded)


for _name in ("connect", "connect_ex", "sendto"):
    _guard(_name)

_getaddrinfo, _gethostbyname = socket.getaddrinfo, socket.gethostbyname


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        _refuse(f"getaddrinfo {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


def _guarded_gethostbyname(host):
    if not _is_local(host):
        _refuse(f"gethostbyname {host!r}")
    return _gethostbyname(host)


socket.getaddrinfo = _guarded_getaddrinfo
socket.gethostbyname = _guarded_gethostbyname
