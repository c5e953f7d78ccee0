"""Capacity of a Redis Cluster holding the bot's keys: memory per key and per node
with N session and cache entries stored, and the latency of a turn while the cluster holds them.

    .venv/bin/python bench/cluster_capacity.py                    # 1,000,000 entries
    .venv/bin/python bench/cluster_capacity.py --entries 20000    # smoke run

The script starts its own 6-node cluster (3 primaries, 3 replicas; ``tests/support/
redis_servers.py``, the tests' configuration: AOF with ``appendfsync always``) on ports
7200-7205 in a temporary directory, and a single node on 7206 for the job queue
(``RSV_JOBS_REDIS_URL``: its stream needs one node), and stops them at the end, also on error.
Then:

1. one ``rsv360 serve`` (``bench/load.py``'s ``Server``) with ``RSV_REDIS_URL`` the cluster's
   ``redis+cluster://`` URL runs a closed-loop REST scenario on the empty cluster (baseline);
2. each node's ``used_memory`` and ``dbsize`` are read; N entries are written through redis-py's
   asyncio ``RedisCluster`` in pipelines: half sessions (``rsv:session:{channel:id}``, the JSON
   of ``bot.steps.sessions.dump_session``, TTL ``RSV_SESSION_TTL_SECONDS``' default of 7 days),
   half cache entries (``rsv:cache:forecast:...``, a forecast answer as
   ``actions/forecasts/conversation.py`` keeps it, TTL the forecast kind's 900 s); once every
   replica holds as many keys as its primary, the nodes are read again;
3. the same scenario runs again with the entries in place; a few conversations then take 25
   turns each, and their stored sessions are measured beside the generated ones.

Nothing is flushed: the cluster is the script's own. JSON goes to
bench/results/cluster_capacity.json, Markdown to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis
from tqdm import tqdm

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
import load  # noqa: E402  (bench/load.py: the server under test and the load generator)

from actions.forecasts.cache import TTL_SECONDS as FORECAST_TTL  # noqa: E402
from actions.forecasts.cache import cache_key as forecast_key  # noqa: E402
from actions.forecasts.cache import forecast_kind  # noqa: E402
from bot.core.render import Renderer  # noqa: E402
from bot.core.types import Outcome  # noqa: E402
from bot.root.settings import PACKAGE_ROOT, Settings  # noqa: E402
from bot.steps.sessions import HISTORY_LIMIT, FormState, Session, dump_session  # noqa: E402
from bot.stores import keys  # noqa: E402
from bot.stores.cache import cache_key  # noqa: E402
from tests.support.redis_servers import RedisClusterServers, RedisServer, create_cluster  # noqa: E402

OUTPUT = BENCH_DIR / "results" / "cluster_capacity.json"
PORTS = tuple(range(7200, 7206))  # the tests use 7100-7110
JOBS_PORT = 7206  # the job queue's single node: its stream cannot live on a cluster
CPU_KEYS = ("server_pct_core", "client_pct_core", "redis_pct_core", "other_pct_core")
ROLES = {"primary": "primaries", "replica": "replicas (copies)"}
SESSION_TTL = Settings.model_fields["session_ttl_seconds"].default
SESSION_MAX_BYTES = Settings.model_fields["session_max_bytes"].default
LOCALES = ("pt_BR", "en", "es")
BRAND = "Onion RSV 360"
PROPERTIES = ("pousada-do-mar", "hotel-centro", "chale-da-serra", "resort-praia-azul")
BOOKING_TEXTS = (
    "quero reservar um quarto para 2 pessoas de 20 a 23 de dezembro",
    "tem vaga para o réveillon? somos 4 adultos e uma criança",
    "I'd like a double room from the 12th to the 15th of January",
    "quanto custa a suíte com vista para o mar no carnaval?",
    "¿hay habitaciones libres para el fin de semana que viene?",
    "meu nome é Maria Fernanda de Souza",
    "maria.souza@example.com",
    "pode cancelar a minha reserva RSV-7Q2KXM?",
    "aceita pix?",
    "can I bring my dog?",
)


def reply_texts() -> list[str]:
    """Real bot replies: every small-talk and booking template that renders with the brand
    alone, in the three languages."""
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "pt_BR")
    values = {"brand": BRAND, "resuming": False}
    found = []
    for folder in ("smalltalk", "booking"):
        for template in sorted((PACKAGE_ROOT / "prompts" / folder).glob("*.j2")):
            name = f"{folder}/{template.name.removesuffix('.j2')}"
            for locale in LOCALES:
                try:
                    found.append(renderer.render(Outcome(name, values), locale, "plain").text)
                except Exception:  # needs values of its own: left out
                    break
    return [text for text in found if text]


class Entries:
    """Sessions and forecast answers shaped as the bot writes them, from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.replies = reply_texts()
        self.texts = list(load.TEXTS) + list(BOOKING_TEXTS)

    def conversation_key(self, number: int) -> tuple[str, str]:
        """(conversation key, user id) on one of the channels, as each channel names them."""
        channel = ("telegram", "whatsapp", "web", "rest")[number % 4]
        if channel == "telegram":
            user = str(100_000_000 + number * 7919 % 6_000_000_000)
            return f"telegram:{user}", user
        if channel == "whatsapp":
            user = f"55{11 + number % 89}9{number * 7919 % 100_000_000:08d}"
            return f"whatsapp:{user}", user
        if channel == "web":
            conversation = secrets.token_hex(16)  # a uuid4's hex, as the widget's tokens carry
            return f"web:{conversation}", conversation
        user = f"crm-{number:09d}"
        return f"rest:{user}", user

    def session(self, number: int) -> tuple[str, str]:
        pick = self.random
        conversation, user = self.conversation_key(number)
        locale = pick.choice(LOCALES)
        session = Session(
            conversation_id=conversation.split(":", 1)[1],
            locale=locale,
            user_id=user,
            experiments={"greeting_tone": pick.choice(("control", "warm"))},
        )
        for _ in range(pick.randint(1, HISTORY_LIMIT // 2)):  # 1 to 10 turns remembered
            session.remember("user", pick.choice(self.texts), pick.choice(("greet", "help", "faq")))
            session.remember("bot", pick.choice(self.replies))
        if pick.random() < 0.3:  # a booking under way
            property_slug = pick.choice(PROPERTIES)
            session.data["property"] = property_slug
            values: dict[str, Any] = {"property": property_slug, "guests": pick.randint(1, 5)}
            if pick.random() < 0.6:
                values.update(check_in="2026-12-20", check_out="2026-12-23", nights=3)
            session.form = FormState("booking", values, asking=pick.choice(("dates", "name")))
        return keys.session(conversation), dump_session(session, SESSION_MAX_BYTES)

    def forecast(self, number: int) -> tuple[str, str]:
        pick = self.random
        kind = pick.choice(("demand", "cancellation", "price"))
        start = f"2027-{1 + number % 12:02d}-{1 + number // 12 % 28:02d}"
        end = f"2027-{1 + number % 12:02d}-{1 + (number // 12 + 6) % 28:02d}"
        model = "cancellation" if kind == "cancellation" else "demand"
        version = f"{model}-2026120{1 + number % 3}0{number % 10}1500"
        place = PROPERTIES[number % len(PROPERTIES)]
        locale = LOCALES[number % 3]
        key = forecast_key(place, version, f"{kind}:{start}:{end}:{number}", locale)
        base = {
            "property": "Pousada do Mar",
            "version": version,
            "start": start,
            "end": end,
            "clipped": False,
            "holiday": None,
        }
        if kind == "cancellation":
            bookings = [
                {
                    "reference": f"RSV-{secrets.token_hex(3).upper()}",
                    "room": pick.choice(("Suíte Vista Mar", "Quarto Duplo", "Chalé Família")),
                    "arrival": start,
                    "probability": pick.randint(20, 95),
                }
                for _ in range(pick.randint(0, 10))
            ]
            values = {**base, "count": 40, "bookings": bookings, "share": 18}
        else:
            values = {
                **base,
                "occupancy": pick.randint(30, 99),
                "low": 40,
                "high": 91,
                "on_books": 52,
                "last_year": 71,
                "arrivals": 38,
                "peak_day": start,
                "peak": 97,
            }
        media_key = secrets.token_urlsafe(18)
        stored = {
            "template": f"forecasts/{'risk' if kind == 'cancellation' else kind}",
            "values": values,
            "image": {
                "url": f"https://hotel.example.com/media/{media_key}",
                "alt": "Ocupação prevista por dia, com a faixa de 80% e o ano anterior: "
                f"média de {pick.randint(30, 99)}%, pico em {start}.",
                "media_key": media_key,
            },
        }
        return cache_key(forecast_kind(), key), json.dumps(stored)

    def batches(self, entries: int, size: int) -> Iterator[list[tuple[str, str, int]]]:
        batch: list[tuple[str, str, int]] = []
        for number in range(entries):
            if number % 2 == 0:
                batch.append((*self.session(number // 2), SESSION_TTL))
            else:
                batch.append((*self.forecast(number // 2), FORECAST_TTL))
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


# --------------------------------------------------------------------------------------------
# The cluster's nodes


async def read_nodes(cluster: RedisClusterServers) -> list[dict[str, Any]]:
    """Each node as it says: role, the primary it copies, keys, memory."""
    nodes = []
    for server in cluster.servers:
        client = Redis(port=server.port)
        try:
            memory = await client.info("memory")
            replication = await client.info("replication")
            nodes.append(
                {
                    "port": server.port,
                    "role": "primary" if replication["role"] == "master" else "replica",
                    "copies": replication.get("master_port"),
                    "keys": int(await client.dbsize()),
                    "used_memory": int(memory["used_memory"]),
                    "used_memory_dataset": int(memory["used_memory_dataset"]),
                    "used_memory_rss": int(memory["used_memory_rss"]),
                    "pid": int((await client.info("server"))["process_id"]),
                }
            )
        finally:
            await client.aclose()
    return nodes


async def wait_for_replicas(cluster: RedisClusterServers, seconds: float = 300.0) -> float:
    """Until every replica holds as many keys as its primary; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        nodes = await read_nodes(cluster)
        keys_at = {node["port"]: node["keys"] for node in nodes}
        if all(node["keys"] == keys_at.get(node["copies"]) for node in nodes if node["copies"]):
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise RuntimeError("the replicas did not catch up with their primaries")


async def write_entries(
    cluster: RedisClusterServers, entries: int, batch: int, parallel: int, seed: int
) -> dict[str, Any]:
    """N entries through ``RedisCluster`` pipelines, ``parallel`` pipelines in flight."""
    generator = Entries(seed)
    client = cluster.client()
    sizes: dict[str, list[int]] = {"session": [], "forecast": []}
    payload = 0
    started = time.perf_counter()
    progress = tqdm(total=entries, unit="key", unit_scale=True, desc="writing", file=sys.stderr)
    in_flight: set[asyncio.Task[Any]] = set()

    async def send(items: list[tuple[str, str, int]]) -> None:
        async with client.pipeline(transaction=False) as pipe:
            for key, value, ttl in items:
                pipe.set(key, value, ex=ttl)
            await pipe.execute()
        progress.update(len(items))

    try:
        for items in generator.batches(entries, batch):
            for key, value, _ in items:
                length = len(value.encode())
                sizes["session" if key.startswith("rsv:session:") else "forecast"].append(length)
                payload += len(key.encode()) + length
            if len(in_flight) >= parallel:
                done, in_flight = await asyncio.wait(in_flight, return_when="FIRST_COMPLETED")
                for task in done:
                    task.result()
            in_flight.add(asyncio.ensure_future(send(items)))
        for task in in_flight:
            await task
    finally:
        progress.close()
        await client.aclose()
    seconds = time.perf_counter() - started
    return {
        "entries": entries,
        "seconds": round(seconds, 1),
        "entries_per_second": round(entries / seconds),
        "payload_bytes": payload,
        "value_bytes": {
            kind: {
                "count": len(found),
                "mean": round(statistics.fmean(found)) if found else None,
                "median": statistics.median(found) if found else None,
                "max": max(found, default=None),
            }
            for kind, found in sizes.items()
        },
        "ttl_seconds": {"session": SESSION_TTL, "forecast": FORECAST_TTL},
    }


def redis_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / load.CLOCK_TICKS
    return total


# --------------------------------------------------------------------------------------------
# Turns against the cluster


class ClusterServer(load.Server):
    """``bench/load.py``'s server, with the job queue on a single node of its own (a server on
    a cluster refuses to start without one)."""

    def __init__(self, cluster_url: str, jobs_url: str, workdir: Path, models_dir: Path) -> None:
        super().__init__("cluster", cluster_url, workdir, models_dir)
        self.jobs_url = jobs_url

    def environment(self) -> dict[str, str]:
        return super().environment() | {"RSV_JOBS_REDIS_URL": self.jobs_url}


async def scenario(
    server: load.Server, mix: list[str], arguments: argparse.Namespace, pids: list[int]
) -> dict[str, Any]:
    limits = load.Limits(arguments.warmup, arguments.seconds, arguments.seconds, 1_000_000, True)
    chosen = load.Scenario("cluster", "rest", arguments.conversations)
    loadavg = os.getloadavg()
    busy = await load.wait_for_quiet_machine(arguments.wait_idle)
    cpu_before, wall_before = redis_cpu(pids), time.perf_counter()
    result = await load.run_scenario(server, chosen, mix, limits, None, secrets.token_hex(4))
    wall = time.perf_counter() - wall_before
    # load.py counts one Redis process; the nodes' share (warm-up included) comes out of "other"
    cpu = result["cpu"]
    cpu["redis_pct_core"] = round(100 * (redis_cpu(pids) - cpu_before) / wall, 1)
    if cpu.get("other_pct_core") is not None:
        cpu["other_pct_core"] = round(max(0.0, cpu["other_pct_core"] - cpu["redis_pct_core"]), 1)
    result["load_average_before"] = [round(value, 2) for value in loadavg]
    result["busy_cores_before"] = busy
    load.log(load.progress_line("  ", chosen, result))
    return result


async def real_sessions(server: load.Server, cluster: RedisClusterServers, mix: list[str]) -> Any:
    """Sizes of sessions the server itself stored after 25 turns of 5 conversations."""
    users = [f"capacity-{secrets.token_hex(4)}" for _ in range(5)]
    async with aiohttp.ClientSession() as http:
        for turn in range(25):
            for user in users:
                body = {"user_id": user, "text": mix[(turn + len(user)) % len(mix)]}
                async with http.post(f"{server.base}/api/v1/messages", json=body) as response:
                    await response.read()
    client = cluster.client()
    try:
        found = [await client.get(keys.session(f"rest:{user}")) for user in users]
    finally:
        await client.aclose()
    return [len(value) for value in found if value is not None]


# --------------------------------------------------------------------------------------------
# Report


def mb(value: float) -> str:
    return f"{value / 1e6:,.1f}"


def totals(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for role in ("primary", "replica"):
        pairs = [
            (b, a) for b, a in zip(before, after, strict=True) if a["role"] == role == b["role"]
        ]
        added_keys = sum(a["keys"] - b["keys"] for b, a in pairs)
        added_memory = sum(a["used_memory"] - b["used_memory"] for b, a in pairs)
        added_dataset = sum(a["used_memory_dataset"] - b["used_memory_dataset"] for b, a in pairs)
        found[role] = {
            "nodes": len(pairs),
            "keys": sum(a["keys"] for _, a in pairs),
            "keys_added": added_keys,
            "used_memory": sum(a["used_memory"] for _, a in pairs),
            "used_memory_added": added_memory,
            "bytes_per_key": round(added_memory / added_keys, 1) if added_keys else None,
            "dataset_bytes_per_key": round(added_dataset / added_keys, 1) if added_keys else None,
        }
    return found


def node_table(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    lines = [
        "| node | role | keys before | keys after | used_memory before MB | after MB "
        "| added MB | bytes/key added | RSS after MB |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for b, a in zip(before, after, strict=True):
        role = a["role"] + (f" of {a['copies']}" if a["copies"] else "")
        added_keys = a["keys"] - b["keys"]
        added = a["used_memory"] - b["used_memory"]
        per_key = f"{added / added_keys:,.0f}" if added_keys else "-"
        lines.append(
            f"| {a['port']} | {role} | {b['keys']:,} | {a['keys']:,} | {mb(b['used_memory'])} "
            f"| {mb(a['used_memory'])} | {mb(added)} | {per_key} | {mb(a['used_memory_rss'])} |"
        )
    return "\n".join(lines)


def totals_table(found: dict[str, Any]) -> str:
    lines = [
        "| nodes | keys held | keys added | used_memory MB | added MB | bytes/key "
        "| dataset bytes/key |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for role, total in found.items():
        lines.append(
            f"| {total['nodes']} {ROLES[role]} | {total['keys']:,} | {total['keys_added']:,} "
            f"| {mb(total['used_memory'])} | {mb(total['used_memory_added'])} "
            f"| {load.fmt(total['bytes_per_key'], 0)} "
            f"| {load.fmt(total['dataset_bytes_per_key'], 0)} |"
        )
    return "\n".join(lines)


def turn_table(runs: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| cluster holds | conv. | turns | turns/s | client p50 / p99 ms | server p50 / p99 ms "
        "| errors | CPU % server / client / redis (6 nodes) / other |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for label, result in runs.items():
        client, server, cpu = result["client_latency"], result["server_latency"], result["cpu"]
        pair = " / ".join
        lines.append(
            f"| {label} | {result['conversations']:,} | {result['messages']:,} "
            f"| {load.fmt(result['messages_per_second'], 0)} "
            f"| {pair(load.fmt(client[k], 2) for k in ('p50_ms', 'p99_ms'))} "
            f"| {pair(load.fmt(server[k], 2) for k in ('p50_ms', 'p99_ms'))} "
            f"| {result['errors']:,} "
            f"| {pair(load.fmt(cpu.get(k), 0) for k in CPU_KEYS)} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Driver


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="sessions + cache entries")
    parser.add_argument("--batch", type=int, default=1000, help="commands per pipeline")
    parser.add_argument("--parallel", type=int, default=4, help="pipelines in flight")
    parser.add_argument("--conversations", type=int, default=100, help="closed-loop REST")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds, left out")
    parser.add_argument("--wait-idle", type=float, default=5.0, help="wait for a quiet machine")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--models-dir", type=Path, default=load.DEFAULT_MODELS_DIR)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    if not 2 <= arguments.entries <= 5_000_000:
        parser.error("--entries must be in [2, 5000000]")
    return arguments


async def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    started = time.perf_counter()
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="rsv360-cluster-capacity-") as temporary:
        scratch = Path(temporary)
        load.log(f"starting a 6-node cluster on ports {PORTS[0]}-{PORTS[-1]} in {scratch}")
        cluster = create_cluster(scratch / "cluster", PORTS)
        jobs = RedisServer(JOBS_PORT, scratch / "jobs", cluster=False)
        server: load.Server | None = None
        try:
            jobs.start()
            await cluster.wait_until_ok()
            pids = [node["pid"] for node in await read_nodes(cluster)]
            server = ClusterServer(cluster.url, jobs.url, scratch, arguments.models_dir)
            load.log(f"starting {' '.join(server.command)} with RSV_REDIS_URL={cluster.url}")
            await server.start()
            mix = await load.preflight(server, load.TEXTS)
            load.log("turns on the empty cluster ...")
            runs["empty cluster"] = await scenario(server, mix, arguments, pids)
            await wait_for_replicas(cluster)
            before = await read_nodes(cluster)
            written = await write_entries(
                cluster, arguments.entries, arguments.batch, arguments.parallel, arguments.seed
            )
            written["replicas_caught_up_after_s"] = round(await wait_for_replicas(cluster), 1)
            after = await read_nodes(cluster)
            load.log(f"turns with {arguments.entries:,} entries held ...")
            runs[f"{arguments.entries:,} entries"] = await scenario(server, mix, arguments, pids)
            sessions = await real_sessions(server, cluster, mix)
            after_load = await read_nodes(cluster)
        finally:
            if server is not None:
                await server.stop()
            for node in [*cluster.servers, jobs]:
                node.stop()

    found = totals(before, after)
    document = {
        "benchmark": "Redis Cluster capacity: memory per key and per node, turn latency",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "source": load.source_version(),
        "machine": load.machine(),
        "cluster": {
            "ports": list(PORTS),
            "url": cluster.url,
            "configuration": "tests/support/redis_servers.py: AOF, appendfsync always, "
            "node timeout 1 s, no RDB snapshots",
            "jobs_redis_url": f"redis://127.0.0.1:{JOBS_PORT}",
        },
        "settings": vars(arguments) | {"models_dir": str(arguments.models_dir)},
        "written": written,
        "nodes_before": before,
        "nodes_after": after,
        "nodes_after_load": after_load,
        "totals": found,
        "server_sessions_after_25_turns_bytes": sessions,
        "turns": runs,
        "elapsed_seconds": round(time.perf_counter() - started, 1),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(
        json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8"
    )

    values = written["value_bytes"]
    print(
        f"{arguments.entries:,} entries written in {written['seconds']:g} s "
        f"({written['entries_per_second']:,}/s); sessions {values['session']['mean']} B mean "
        f"(max {values['session']['max']}), forecast answers {values['forecast']['mean']} B "
        f"mean; key + value {written['payload_bytes'] / arguments.entries:,.0f} B mean; "
        f"sessions the server stored after 25 turns: {sessions} B\n"
    )
    print(node_table(before, after))
    print()
    print(totals_table(found))
    print()
    print(turn_table(runs))
    held = sum(node["keys"] for node in after_load if node["role"] == "primary")
    print(f"\nKeys held by the primaries after the second load: {held:,}")
    load.log(f"\nJSON: {arguments.output} ({document['elapsed_seconds']} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
