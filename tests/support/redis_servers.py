"""Redis servers of the test's own: a 6-node Redis Cluster (3 primaries, 3 replicas) and a single
server, each a Debian ``redis-server`` process on a loopback port in 7100-7199 with its files in
a temporary directory, stopped after the tests (never the shared server at REDIS_URL).

Registered as a pytest plugin by tests/conftest.py: ``redis_cluster`` is one cluster for the
whole run, emptied before each test that uses it; ``redis_node`` a fresh single server per test.
Both can be killed and started again (a single server frozen and thawed too) by the tests
that are about failures.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode

from bot.stores.redis import CLUSTER_HANDSHAKE

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
CLUSTER_PORTS = tuple(range(7100, 7106))
NODE_PORT = 7110
NODE_TIMEOUT_MS = 1000
"""How long the cluster waits before it calls a silent primary failed and promotes its replica."""


@dataclass
class RedisServer:
    """One ``redis-server`` process; ``kill`` is SIGKILL (no goodbye), ``start`` brings it back
    on the same port and files."""

    port: int
    directory: Path
    cluster: bool
    socket: Path | None = None
    """A unix socket the server listens on as well (``socket_url``)."""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        arguments = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--logfile", "redis.log",
            "--save", "",
            # Every write on disk before it is acknowledged: a restart loses nothing.
            "--appendonly", "yes",
            "--appendfsync", "always",
        ]  # fmt: skip
        if self.socket is not None:
            arguments += ["--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        if self.cluster:
            arguments += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
            ]  # fmt: skip
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL)
        wait_until_answering(self.port)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing answers (a hung server, a lost network)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server hears SIGTERM only then
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def socket_url(self) -> str:
        assert self.socket is not None
        return f"unix://{self.socket}"


def wait_until_answering(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = subprocess.run(
            [REDIS_CLI, "-p", str(port), "ping"], capture_output=True, text=True, check=False
        )
        if answer.stdout.strip() == "PONG":
            return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server on port {port} did not start")


@dataclass
class RedisClusterServers:
    servers: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The bot's setting: every node to start from."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.servers)

    def server(self, port: int) -> RedisServer:
        return next(server for server in self.servers if server.port == port)

    def client(self) -> RedisCluster:
        return RedisCluster(
            startup_nodes=[ClusterNode("127.0.0.1", s.port) for s in self.servers if s.process],
            **CLUSTER_HANDSHAKE,
        )

    async def started_clients(self, count: int) -> list[RedisCluster]:
        """Clients that know the topology already, as the bot's do after ``RedisClients.start``:
        a fresh client's first burst of SET NX can be resent and answered "taken"."""
        clients = [self.client() for _ in range(count)]
        await asyncio.gather(*(client.initialize() for client in clients))
        return clients

    async def roles(self) -> dict[int, str]:
        """Each running node's role, ``master`` or ``slave``, as the node itself says."""
        found = {}
        for server in self.servers:
            if server.process is None:
                continue
            node = Redis(port=server.port)
            try:
                found[server.port] = (await node.info("replication"))["role"]
            finally:
                await node.aclose()
        return found

    async def wait_until_ok(self, seconds: float = 240.0) -> None:
        # Generous: after a test killed a primary, the restarted node resyncs as a replica,
        # which on a loaded 2-core machine took over a minute.
        """Until every running node sees every slot served (``cluster_state:ok``) and every
        replica is in sync with its primary (a replica that never synced does not take over)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            running = [s.port for s in self.servers if s.process is not None]
            if all([await _cluster_ok(port) and await _replicating(port) for port in running]):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the cluster did not reach cluster_state:ok with replicas in sync")

    async def flush(self) -> None:
        for port, role in (await self.roles()).items():
            if role == "master":
                node = Redis(port=port)
                try:
                    await node.flushall()
                finally:
                    await node.aclose()


async def _cluster_ok(port: int) -> bool:
    node = Redis(port=port)
    try:
        info: dict[str, str] = await node.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
    except Exception:
        return False
    finally:
        await node.aclose()
    return str(info.get("cluster_state")) == "ok"


async def _replicating(port: int) -> bool:
    """A primary with its replica attached, or a replica whose link to its primary is up."""
    node = Redis(port=port)
    try:
        info = await node.info("replication")
    except Exception:
        return False
    finally:
        await node.aclose()
    if info["role"] == "master":
        return int(info["connected_slaves"]) >= 1
    return str(info.get("master_link_status")) == "up"


def create_cluster(directory: Path, ports: tuple[int, ...] = CLUSTER_PORTS) -> RedisClusterServers:
    """A fresh cluster on ``ports`` (six: three primaries, each with a replica); the tests use
    ``CLUSTER_PORTS``, a benchmark its own."""
    cluster = RedisClusterServers(
        [RedisServer(port, directory / str(port), cluster=True) for port in ports]
    )
    for server in cluster.servers:
        server.start()
    subprocess.run(
        [REDIS_CLI, "--cluster", "create"]
        + [f"127.0.0.1:{port}" for port in ports]
        + ["--cluster-replicas", "1", "--cluster-yes"],
        check=True,
        capture_output=True,
    )
    return cluster


@pytest.fixture(scope="session")
def cluster_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    cluster = create_cluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield cluster
    finally:
        for server in cluster.servers:
            server.stop()


@pytest.fixture
async def redis_cluster(cluster_servers: RedisClusterServers) -> RedisClusterServers:
    """The run's cluster, every node running and every slot served, emptied for the test."""
    for server in cluster_servers.servers:
        if server.process is None:  # killed by an earlier test: it comes back as a replica
            server.start()
    await cluster_servers.wait_until_ok()
    await cluster_servers.flush()
    return cluster_servers


@pytest.fixture
async def redis_cluster_client(redis_cluster: RedisClusterServers) -> AsyncIterator[RedisCluster]:
    """A plain redis-py cluster client on the emptied cluster, started as the bot starts its
    own (``RedisClients.start``: it knows the topology before the test's first burst)."""
    client = redis_cluster.client()
    await client.initialize()
    yield client
    await client.aclose()


@pytest.fixture
def redis_node(tmp_path: Path) -> Iterator[RedisServer]:
    """A single Redis server of the test's own, on its own port and a unix socket."""
    sockets = Path(tempfile.mkdtemp(prefix="rsv-redis-"))  # a socket's path holds 107 bytes
    server = RedisServer(NODE_PORT, tmp_path / "redis-node", False, sockets / "redis.sock")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(sockets, ignore_errors=True)
