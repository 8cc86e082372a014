"""Test helpers: a throw-away PKI and a real mosquitto started from the shipped config.

WHY generate certificates at test time: committed keys expire, leak into real
deployments and hide whether the recipe in examples/mosquitto/README.md still works.
The `openssl` command line is used (present on every Debian system); the `cryptography`
package would do the same but is not a dependency of Safehome.

WHY template examples/mosquitto/mosquitto.conf instead of writing a test config: the
security tests then prove the configuration users copy, not a look-alike. Only paths,
the port and logging are replaced.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.broker import MOSQUITTO, free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONF = REPO / "examples" / "mosquitto" / "mosquitto.conf"
EXAMPLE_ACL = REPO / "examples" / "mosquitto" / "safehome.acl"

needs_mosquitto = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto not installed")
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@dataclass
class Pki:
    """Paths of a CA, a second (untrusted) CA, a server cert for 127.0.0.1/localhost and
    client certs; `client(name)` -> (cert, key). `rogue` is signed by the other CA."""

    dir: Path
    ca: Path
    server_cert: Path
    server_key: Path
    other_ca: Path
    clients: dict[str, tuple[Path, Path]] = field(default_factory=dict)

    def client(self, name: str) -> tuple[Path, Path]:
        return self.clients[name]


def _new_ca(d: Path, name: str, cn: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _new_leaf(d: Path, name: str, cn: str, ca: str, server: bool) -> tuple[Path, Path]:
    ext = d / f"{name}.ext"
    ext.write_text("basicConstraints=CA:FALSE\n" + (
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" if server
        else "extendedKeyUsage=clientAuth\n"))
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name, cwd=d)
    key = d / f"{name}.key"
    key.chmod(0o600)
    return d / f"{name}.crt", key


def make_pki(d: Path, clients: tuple[str, ...] = ("gw-A", "gw-B", "centre")) -> Pki:
    d.mkdir(parents=True, exist_ok=True)
    _new_ca(d, "ca", "Safehome Test CA")
    _new_ca(d, "other-ca", "Somebody Else's CA")
    server_cert, server_key = _new_leaf(d, "server", "localhost", "ca", server=True)
    pki = Pki(d, d / "ca.crt", server_cert, server_key, d / "other-ca.crt")
    for name in clients:
        pki.clients[name] = _new_leaf(d, f"client-{name}", name, "ca", server=False)
    # Same CN as a real gateway, but signed by a CA the broker does not trust.
    pki.clients["rogue"] = _new_leaf(d, "client-rogue", "gw-A", "other-ca", server=False)
    return pki


def template_conf(text: str, replace: dict[str, str], drop: tuple[str, ...] = ()) -> str:
    """Replace the value of each `key value` line whose key is in `replace` (the first
    occurrence; later ones are dropped), drop keys in `drop`, append missing keys."""
    out, done = [], set()
    for line in text.splitlines():
        key = line.split(maxsplit=1)[0] if line.strip() and not line.lstrip().startswith("#") else None
        if key in drop or (key in done):
            continue
        if key in replace:
            out.append(f"{key} {replace[key]}")
            done.add(key)
        else:
            out.append(line)
    out += [f"{k} {v}" for k, v in replace.items() if k not in done]
    return "\n".join(out) + "\n"


@dataclass
class Broker:
    host: str
    port: int
    proc: subprocess.Popen
    conf: Path
    logfile: Path
    tls: bool = False

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def log(self) -> str:
        """The broker's log file plus anything it printed before opening it."""
        files = (self.logfile, self.logfile.with_name("stdout.log"))
        return "".join(f.read_text(errors="replace") for f in files if f.exists())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_mosquitto(conf_text: str, d: Path, port: int, tls: bool = False) -> Broker:
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "mosquitto.conf"
    conf.write_text(conf_text)
    logfile = d / "mosquitto.log"
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=(d / "stdout.log").open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    broker = Broker("127.0.0.1", port, proc, conf, logfile, tls)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited ({proc.returncode}):\n{broker.log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return broker
        except OSError:
            time.sleep(0.05)
    broker.stop()
    raise RuntimeError(f"mosquitto did not listen on {port}:\n{broker.log()}")


def start_tls_mosquitto(pki: Pki, d: Path, port: int | None = None,
                        acl_text: str | None = None) -> Broker:
    """The shipped TLS + ACL configuration with this test's paths and a free port."""
    port = port or free_port()
    acl = d / "safehome.acl"
    d.mkdir(parents=True, exist_ok=True)
    acl.write_text(acl_text if acl_text is not None else EXAMPLE_ACL.read_text())
    conf = template_conf(EXAMPLE_CONF.read_text(), {
        "listener": f"{port} 127.0.0.1", "cafile": str(pki.ca),
        "certfile": str(pki.server_cert), "keyfile": str(pki.server_key),
        "acl_file": str(acl), "persistence": "false", "log_dest": f"file {d / 'mosquitto.log'}",
        "user": getpass.getuser(),  # as root, stay root: the keys are ours, mode 0600
    }, drop=("persistence_location",))
    return start_mosquitto(conf, d, port, tls=True)

