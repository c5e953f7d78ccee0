"""``rsv360 serve --workers N``: N server processes on one port, each a whole server.

Each worker binds the port itself with SO_REUSEPORT and the kernel spreads new connections
over them; there is no pre-forked shared socket. So nothing crosses a fork (event loops, Redis
and database pools, the libraries' threads), a worker is the same program as a lone
``rsv360 serve``, and one that dies is restarted without disturbing the others. SO_REUSEPORT
is Linux's and the BSDs'; a pre-fork supervisor would be the way on other systems.

The supervisor starts each worker as a fresh ``python -m bot serve`` process, passes SIGTERM
and SIGINT on (each worker then stops accepting, lets its turns finish, closes its sockets as
going away and flushes what it queued), restarts a worker that exits on its own after a pause
that doubles up to a minute, and returns once every worker has stopped. A worker whose
supervisor died (SIGKILL leaves it no time to pass anything on) is sent SIGTERM by the kernel.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from types import FrameType

import structlog

log = structlog.get_logger("rsv360.workers")

PR_SET_PDEATHSIG = 1
FIRST_RESTART_PAUSE_SECONDS = 1.0
LONGEST_RESTART_PAUSE_SECONDS = 60.0


def worker_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "bot", "serve", "--in-pool", "--host", host, "--port", str(port)]


def _die_with_supervisor() -> None:
    """In the new worker, before it runs: the kernel sends it SIGTERM when the supervisor dies
    (Linux's PR_SET_PDEATHSIG), so a killed supervisor leaves no orphans serving the port."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(count: int, host: str, port: int) -> int:
    """Run ``count`` workers until SIGTERM or SIGINT; the exit code is 0 once all stopped."""
    command = worker_command(host, port)
    workers = {
        index: subprocess.Popen(command, preexec_fn=_die_with_supervisor) for index in range(count)
    }
    pauses = dict.fromkeys(workers, FIRST_RESTART_PAUSE_SECONDS)
    restart_at: dict[int, float] = {}
    stopping = False

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers.values():
            if worker.poll() is None:
                worker.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("workers_started", count=count, pids=[worker.pid for worker in workers.values()])
    while workers:
        for index, worker in list(workers.items()):
            code = worker.poll()
            if code is None:
                continue
            if stopping:
                del workers[index]
            elif index not in restart_at:
                log.error("worker_exited", index=index, pid=worker.pid, code=code)
                restart_at[index] = time.monotonic() + pauses[index]
                pauses[index] = min(pauses[index] * 2, LONGEST_RESTART_PAUSE_SECONDS)
            elif time.monotonic() >= restart_at[index]:
                del restart_at[index]
                workers[index] = subprocess.Popen(command, preexec_fn=_die_with_supervisor)
                log.info("worker_restarted", index=index, pid=workers[index].pid)
        time.sleep(0.1)
    return 0
