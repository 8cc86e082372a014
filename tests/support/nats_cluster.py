"""A real 3-node NATS cluster (JetStream + MQTT 3.1.1 listener) on free loopback ports.

WHY NATS in tests: the city-scale deployment (docs/scaling.md) runs the gateways and
receivers against a clustered broker; only a real cluster shows what a node's death
does to sessions, retained status and QoS 1 traffic. Each node gets its own server
name, JetStream directory (in the test's tmp dir), client, cluster, monitoring and MQTT
ports, and routes to the other two; MQTT streams are replicated on all three
(`stream_replicas: 3`). Nodes can be SIGKILLed and started again on the same ports and
store directory, so a test can watch a node rejoin.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.support.broker import free_port, wait_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


listen_port = free_port   # below the ephemeral range (see tests/support/broker.py)


class NatsNode:
    def __init__(self, workdir: Path, name: str, cluster_ports: list[int], index: int) -> None:
        self.name = name
        self.host = "127.0.0.1"
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.client_port = listen_port()
        self.http_port = listen_port()
        self.mqtt_port = listen_port()
        self.cluster_port = cluster_ports[index]
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for i, p in enumerate(cluster_ports)
                           if i != index)
        self.conf = self.dir / "nats.conf"
        self.log = self.dir / "nats.log"
        self.conf.write_text(
            f"server_name: {name}\n"
            f"listen: 127.0.0.1:{self.client_port}\n"
            f"http: 127.0.0.1:{self.http_port}\n"
            f"jetstream {{ store_dir: \"{self.dir / 'js'}\" }}\n"
            f"cluster {{ name: safehome, listen: 127.0.0.1:{self.cluster_port}, routes: [{routes}] }}\n"
            # Streams (messages, retained, sessions) on all three nodes. Consumers (one per
            # QoS 1 subscription of a clean session) need not outlive their connection, and
            # an R3 consumer cannot be created while a node is down (a receiver could not
            # subscribe again until the node returned): one replica, in memory.
            f"mqtt {{ listen: 127.0.0.1:{self.mqtt_port}, stream_replicas: 3,"
            f" consumer_replicas: 1, consumer_memory_storage: true }}\n"
            f"max_payload: 1MB\n")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.mqtt_port}"

    def start(self) -> None:
        self._logfile = self.log.open("ab")
        self.proc = subprocess.Popen([NATS_SERVER, "-c", str(self.conf)], stdout=self._logfile,
                                     stderr=subprocess.STDOUT)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye to peers or clients, as in a crash or a power cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        self._logfile.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if hasattr(self, "_logfile"):
            self._logfile.close()

    def healthy(self) -> bool:
        """JetStream up and caught up (the monitoring endpoint's own health check)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz",
                                        timeout=1) as r:
                return json.loads(r.read()).get("status") == "ok"
        except (OSError, ValueError):
            return False

    def routes(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/routez", timeout=1) as r:
                return int(json.loads(r.read()).get("num_routes", 0))
        except (OSError, ValueError):
            return 0

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class NatsCluster:
    """Three nodes, `n1`..`n3`. `start()` returns when every node is healthy and routed."""

    def __init__(self, workdir: Path, size: int = 3) -> None:
        cluster_ports = [listen_port() for _ in range(size)]
        self.nodes = [NatsNode(workdir, f"n{i + 1}", cluster_ports, i) for i in range(size)]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def start(self, timeout: float = 60.0) -> NatsCluster:
        for node in self.nodes:
            node.start()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if not node.running():
                continue
            wait_port(node.host, node.mqtt_port, timeout=max(1.0, deadline - time.monotonic()))
            while not (node.healthy() and node.routes() >= self.running_count() - 1):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"NATS node {node.name} not healthy in {timeout} s:\n"
                                       + node.log_text()[-3000:])
                time.sleep(0.2)

    def running_count(self) -> int:
        return sum(1 for n in self.nodes if n.running())

    def restart(self, node: NatsNode, timeout: float = 60.0) -> None:
        node.start()
        self.wait_ready(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
