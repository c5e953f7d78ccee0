"""Times every garbage collector pass of a ``rsv360 serve`` process started with this folder
on ``PYTHONPATH``, from its first import, and writes the passes over 20 ms and the totals per
generation to ``$GC_PROBE_DIR/gc-<pid>.json`` as it exits. It measures any commit, including
those before ``rsv360 serve`` timed its own passes (``bot/root/heap.py``):

    GC_PROBE_DIR=/tmp/gc PYTHONPATH=bench/gc_probe .venv/bin/python bench/load.py ...
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

if "serve" in sys.argv and os.environ.get("GC_PROBE_DIR"):
    _started = time.perf_counter()
    _began = [0.0]
    _long: list[dict[str, Any]] = []
    _totals = {generation: {"passes": 0, "seconds": 0.0} for generation in range(3)}

    def _timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _began[0] = time.perf_counter()
            return
        took = time.perf_counter() - _began[0]
        total = _totals[info["generation"]]
        total["passes"] += 1
        total["seconds"] += took
        if took > 0.02:
            at = round(time.perf_counter() - _started, 1)
            _long.append({"at_s": at, "generation": info["generation"], "ms": round(took * 1e3, 1)})

    def _written() -> None:
        report = {
            "totals": _totals,
            "passes_over_20ms": _long,
            "tracked_objects": len(gc.get_objects()),
            "frozen_objects": gc.get_freeze_count(),
        }
        folder = Path(os.environ["GC_PROBE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"gc-{os.getpid()}.json").write_text(json.dumps(report, indent=1))

    gc.callbacks.append(_timed)
    atexit.register(_written)
