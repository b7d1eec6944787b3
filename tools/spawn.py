"""Starting Hush daemons for tools and tests: free loopback ports, `hush serve` as its own process, and a
daemon in this process on a thread. Every benchmark, the demo and the tests start daemons through here."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import zmq

from hush import protocol


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback(stable: bool = False) -> str:
    """A tcp://127.0.0.1 endpoint on a free port. `stable`: a port below the kernel's ephemeral range, for a
    daemon that restarts on it (see stable_port)."""
    return f"tcp://127.0.0.1:{stable_port() if stable else free_port()}"


def stable_port() -> int:
    """A free TCP port on 127.0.0.1 below the ephemeral range (ip_local_port_range), as a deployment's 5555
    is. A port the OS hands out may meanwhile become the source port of some outgoing connection (a client
    reconnecting to the other endpoint, say); a daemon restarting on it then cannot bind."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 below {low} after 200 tries")


def wait_ready(endpoint: str, timeout_s: float) -> bool:
    """True once a daemon publishing on `endpoint` greets a subscription with !ready within `timeout_s`."""
    ctx: zmq.Context = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, protocol.READY_TOPIC)
    sub.connect(endpoint)
    try:
        return bool(sub.poll(int(timeout_s * 1000)))
    finally:
        sub.close(linger=0)


class DaemonProcess:
    """`hush serve --model MODEL --input INP --output OUT FLAGS...` in its own process, its log in `log`.
    A context manager: SIGTERM on exit (SIGKILL if it has not stopped within 60 s)."""

    def __init__(self, model: str | Path, inp: str | None = None, out: str | None = None,
                 flags: Sequence[str] = (), log: str | Path | None = None):
        self.input, self.output = inp or loopback(), out or loopback()
        self.cmd = [sys.executable, "-m", "hush.cli", "serve", "--model", str(model), "--input", self.input,
                    "--output", self.output, *flags]
        self.log = Path(log) if log else None
        self.proc: subprocess.Popen[bytes] | None = None
        self._fh: IO[str] | None = None
        self._terminated = False

    def start(self, ready_timeout_s: float | None = 120.0) -> DaemonProcess:
        """Start it; unless `ready_timeout_s` is None, wait for its !ready (it loads TensorFlow first)."""
        self._fh = open(self.log, "a") if self.log else None
        self.proc = subprocess.Popen(self.cmd, stdout=self._fh or subprocess.DEVNULL, stderr=subprocess.STDOUT)
        if ready_timeout_s is not None and not wait_ready(self.output, ready_timeout_s):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"hush serve did not greet a subscriber within {ready_timeout_s:g} s"
                               + (f"; see {self.log}" if self.log else ""))
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def terminate(self) -> None:
        """SIGTERM, once: it stops reading, answers everything accepted and exits 0 (a second signal would
        make it exit at once with 1)."""
        assert self.proc is not None, "not started"
        if not self._terminated and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout_s: float = 60.0) -> int:
        """terminate(), then its exit code."""
        assert self.proc is not None, "not started"
        self.terminate()
        try:
            return self.proc.wait(timeout_s)
        finally:
            if self._fh:
                self._fh.close()
                self._fh = None

    def kill(self) -> None:
        """SIGKILL: no goodbye."""
        assert self.proc is not None, "not started"
        self.proc.kill()
        self.proc.wait(30)

    def __enter__(self) -> DaemonProcess:
        return self if self.proc else self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def in_thread(runner: Any, **settings: Any) -> Iterator[Any]:
    """A `Server` in this process on free loopback ports (unless `settings` name them), serving `runner`;
    stopped cleanly after, and its exit code checked."""
    from hush.config import ServeConfig
    from hush.daemon.server import Server

    base: dict[str, Any] = dict(input="tcp://127.0.0.1:*", output="tcp://127.0.0.1:*", stats_interval_s=0.0)
    srv = Server(ServeConfig(**{**base, **settings}), runner=runner)
    result: dict[str, int] = {}
    th = threading.Thread(target=lambda: result.setdefault("code", srv.run(install_signals=False)), daemon=True,
                          name="hush-test-server")
    th.start()
    if not srv.ready.wait(60):
        srv.should_exit = True
        raise RuntimeError("the in-process daemon did not start within 60 s")
    try:
        yield srv
    finally:
        srv.should_exit = True
        th.join(30)
    if th.is_alive() or result.get("code") != 0:
        raise RuntimeError(f"the in-process daemon did not stop cleanly (exit code {result.get('code')})")


def mqtt_broker(port: int, directory: Path) -> list[str]:
    """The command line of an MQTT broker on 127.0.0.1:`port`, anonymous, nothing kept on disk: Mosquitto
    (Debian's package, which `make broker` installs) or, where it cannot be had, amqtt from PyPI (the
    fallback `make broker` installs into the venv)."""
    import shutil

    mosquitto = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if mosquitto:
        conf = directory / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        return [mosquitto, "-c", str(conf)]
    amqtt = Path(sys.executable).with_name("amqtt")
    if amqtt.exists():
        conf = directory / "amqtt.yaml"
        conf.write_text(f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{port}\nplugins:\n"
                        "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n")
        return [str(amqtt), "-c", str(conf)]
    raise RuntimeError("no MQTT broker here: `make broker` installs Mosquitto (or, failing that, amqtt)")
