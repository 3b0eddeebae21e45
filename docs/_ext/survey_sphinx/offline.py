"""Offline build: no socket may reach beyond this machine while the site builds.

The project rule is that nothing downloads data or weights at run time. This extension
enforces it during the build instead of trusting it: in the Sphinx process and in every
worker process that runs gallery examples (through the ``reset_modules`` hook
:func:`.runs.around_example`), it patches :mod:`socket` so that

- ``socket.connect``/``connect_ex``/``sendto`` to a non-loopback address and
- ``socket.getaddrinfo`` of a host name other than this machine's own

raise :class:`NetworkBlockedError` (an :class:`OSError`) and append the attempt to a log.
At ``build-finished`` any logged attempt becomes a build warning, so a ``-W`` build fails
even if the code that tried the network caught the error and carried on.

Unix sockets and loopback stay allowed (the parallel workers talk over pipes and local
sockets). C code that opens sockets without Python's :mod:`socket` is not seen.
Disabled for the ``linkcheck`` builder and with ``-D survey_offline=0``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket

ENABLE_ENV = "SURVEY_OFFLINE_BUILD"
LOG_ENV = "SURVEY_NETWORK_LOG"
LOG_NAME = "network-attempts.jsonl"


class NetworkBlockedError(OSError):
    """Raised instead of opening a connection beyond the local machine."""


_originals: dict[str, object] = {}


def _is_local_host(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%")[0]
    if host in ("", "localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return host == socket.gethostname()
        except OSError:
            return False


def _is_local_address(family, address) -> bool:
    if family == getattr(socket, "AF_UNIX", None):
        return True
    if isinstance(address, tuple) and address:
        return _is_local_host(address[0])
    return isinstance(address, (str, bytes))  # a path: a Unix socket


def _refuse(what: str, target) -> None:
    message = (
        f"network access is blocked while the docs build (offline rule): "
        f"{what} {target!r} in process {os.getpid()}"
    )
    log = os.environ.get(LOG_ENV)
    if log:
        try:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(
                    json.dumps({"what": what, "target": repr(target), "pid": os.getpid()}) + "\n"
                )
        except OSError:
            pass
    raise NetworkBlockedError(message)


def install() -> None:
    """Patch :mod:`socket` in this process (idempotent)."""
    if _originals:
        return
    sock = socket.socket
    _originals.update(
        connect=sock.connect,
        connect_ex=sock.connect_ex,
        sendto=sock.sendto,
        getaddrinfo=socket.getaddrinfo,
    )

    def connect(self, address):
        if not _is_local_address(self.family, address):
            _refuse("connect to", address)
        return _originals["connect"](self, address)

    def connect_ex(self, address):
        if not _is_local_address(self.family, address):
            _refuse("connect to", address)
        return _originals["connect_ex"](self, address)

    def sendto(self, data, *args):
        address = args[-1] if args else None
        if address is not None and not _is_local_address(self.family, address):
            _refuse("send to", address)
        return _originals["sendto"](self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local_host(host):
            _refuse("resolve", host)
        return _originals["getaddrinfo"](host, *args, **kwargs)

    sock.connect = connect
    sock.connect_ex = connect_ex
    sock.sendto = sendto
    socket.getaddrinfo = getaddrinfo


def uninstall() -> None:
    """Undo :func:`install` (used by tests that run in-process)."""
    if not _originals:
        return
    socket.socket.connect = _originals["connect"]
    socket.socket.connect_ex = _originals["connect_ex"]
    socket.socket.sendto = _originals["sendto"]
    socket.getaddrinfo = _originals["getaddrinfo"]
    _originals.clear()


def install_if_requested() -> None:
    """Install in a worker process when the Sphinx process asked for an offline build."""
    if os.environ.get(ENABLE_ENV) == "1":
        install()


def _logger():
    from sphinx.util import logging

    return logging.getLogger(__name__)


def start(app) -> None:
    """``builder-inited`` (first): block the network here and in the example workers."""
    if not app.config.survey_offline or app.builder.name == "linkcheck":
        os.environ.pop(ENABLE_ENV, None)
        return
    log = os.path.join(app.doctreedir, LOG_NAME)
    os.makedirs(app.doctreedir, exist_ok=True)
    open(log, "w").close()
    os.environ[ENABLE_ENV] = "1"  # inherited by worker processes started later
    os.environ[LOG_ENV] = log
    install()
    _logger().info("[offline] network blocked for this build (loopback only)")


def report(app, exception) -> None:
    """``build-finished``: every blocked attempt is a warning (so ``-W`` fails)."""
    log = os.environ.get(LOG_ENV)
    if os.environ.get(ENABLE_ENV) != "1" or not log or not os.path.exists(log):
        return
    with open(log, encoding="utf-8") as fh:
        attempts = [json.loads(line) for line in fh if line.strip()]
    for attempt in attempts:
        _logger().warning(
            f"[offline] blocked network access during the build: "
            f"{attempt['what']} {attempt['target']} (process {attempt['pid']})",
            type="survey",
            subtype="offline",
        )
