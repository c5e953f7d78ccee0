"""The rooms of the house: who may import whom, who may read the environment, and who may
read the wall clock."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest
from pydantic import BaseModel

import bot
from bot.root.settings import PACKAGE_ROOT

ROOT = "bot/root"
"""The composition root: the one room that may import every other."""
FORBIDDEN = {
    "bot": {"channels", "actions", "intents"},
    "channels": {"actions", "intents", "bot.root"},
    "actions": {"channels", "bot.root"},
    "intents": {"channels", "actions", "bot.root"},
}
WALL_CLOCK = {"datetime.now", "datetime.utcnow", "datetime.today", "date.today", "time.time"}
WALL_CLOCK_READERS = {
    "bot/core/clock.py": {"datetime.now"},
    # The limits library's windows reset on its own time.time: how long to wait is read on it.
    "bot/stores/windows.py": {"time.time"},
    "bot/edge/limits.py": {"time.time"},
    "bot/partners/client.py": {"time.time"},
}


def python_files(package: str) -> list[Path]:
    return sorted((PACKAGE_ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def forbidden_imports(path: Path, forbidden: set[str]) -> list[str]:
    return sorted(
        module
        for module in imported_modules(path)
        if any(module == room or module.startswith(f"{room}.") for room in forbidden)
    )


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_what_their_room_allows(package: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE_ROOT)): forbidden_imports(path, FORBIDDEN[package])
        for path in python_files(package)
        if not path.is_relative_to(PACKAGE_ROOT / ROOT)
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_the_room_rule_sees_an_offending_import(tmp_path: Path) -> None:
    engine_module = tmp_path / "offender.py"
    engine_module.write_text("from actions.booking.quotes import Quotes\nimport bot.core\n")
    assert forbidden_imports(engine_module, FORBIDDEN["bot"]) == ["actions.booking.quotes.Quotes"]


def capability_imports(root: Path) -> dict[str, set[str]]:
    """Which capabilities (``actions/<name>/`` packages) each one imports, type-only imports
    included: a cycle hidden behind ``TYPE_CHECKING`` still ties the two together."""
    capabilities = {init.parent.name for init in (root / "actions").glob("*/__init__.py")}
    graph: dict[str, set[str]] = {name: set() for name in capabilities}
    for name in capabilities:
        for path in sorted((root / "actions" / name).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                modules = []
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules = [f"{node.module}.{alias.name}" for alias in node.names]
                for module in modules:
                    top, _, rest = module.partition(".")
                    imported = rest.split(".")[0]
                    if top == "actions" and imported in capabilities - {name}:
                        graph[name].add(imported)
    return graph


def test_capabilities_depend_on_each_other_in_one_direction() -> None:
    graph = capability_imports(PACKAGE_ROOT)
    assert {"booking", "payments"} <= graph.keys()
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as cycle:
        pytest.fail(f"capabilities import each other: {' → '.join(cycle.args[1])}")


def test_only_the_settings_read_the_environment() -> None:
    readers = []
    for package in FORBIDDEN:
        for path in python_files(package):
            source = path.read_text(encoding="utf-8")
            if "os.environ" in source or "getenv" in source:
                readers.append(str(path.relative_to(PACKAGE_ROOT)))
    assert readers == []


def wall_clock_reads(path: Path) -> set[str]:
    reads = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and f"{owner.id}.{node.func.attr}" in WALL_CLOCK:
                reads.add(f"{owner.id}.{node.func.attr}")
    return reads


def test_only_the_one_clock_reads_the_wall_clock() -> None:
    """Everything else asks the clock the composition root hands out (``bot/core/clock.py``)."""
    readers = {}
    for package in FORBIDDEN:
        for path in python_files(package):
            name = str(path.relative_to(PACKAGE_ROOT))
            reads = wall_clock_reads(path) - WALL_CLOCK_READERS.get(name, set())
            if reads:
                readers[name] = sorted(reads)
    assert readers == {}


def test_the_clock_rule_sees_a_read_of_the_wall_clock(tmp_path: Path) -> None:
    module = tmp_path / "stamp.py"
    module.write_text(
        "from datetime import UTC, date, datetime\n"
        "stamped = datetime.now(UTC)\nday = date.today()\n"
    )
    assert wall_clock_reads(module) == {"datetime.now", "date.today"}


def test_the_engine_package_exports_its_public_names() -> None:
    assert sorted(bot.__all__) == [
        "Address",
        "Button",
        "Choice",
        "Context",
        "Engine",
        "Form",
        "Image",
        "Message",
        "Outcome",
        "Parse",
        "Reply",
        "Router",
        "Slot",
        "TurnResult",
    ]
    assert all(hasattr(bot, name) for name in bot.__all__)


def test_the_readme_documents_every_setting() -> None:
    from bot.root.settings import Settings

    readme = (PACKAGE_ROOT / "README.md").read_text(encoding="utf-8")
    variables = []
    for name, field in Settings.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            variables += [f"RSV_{name}_{inner}".upper() for inner in section.model_fields]
        else:
            variables.append(f"RSV_{name.upper()}")
    assert "RSV_TELEGRAM_TOKEN" in variables
    assert [variable for variable in variables if f"`{variable}`" not in readme] == []


SHARED_BY_TESTS = ("tests.support", "tests.fakes")
"""Where the helpers and fixtures that several test modules use live."""


def modules_imported_by(path: Path) -> set[str]:
    """Every module ``path`` imports, by its full name: ``from tests import test_x`` names
    ``tests.test_x``, and a relative import is resolved against the file's own package."""
    package = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts[:-1])
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            modules.add(module)
            modules.update(f"{module}.{alias.name}" for alias in node.names)
    return modules


def test_test_modules_share_code_only_through_the_support_packages() -> None:
    """A test module imports no other test module (nor the conftest): what two of them share is
    in tests/support or tests/fakes, so moving or deleting one test module breaks no other."""
    offenders: dict[str, list[str]] = {}
    for path in sorted((PACKAGE_ROOT / "tests").rglob("*.py")):
        borrowed = sorted(
            module
            for module in modules_imported_by(path)
            if module.startswith("tests.") and not module.startswith(SHARED_BY_TESTS)
        )
        if borrowed:
            offenders[str(path.relative_to(PACKAGE_ROOT))] = borrowed
    assert offenders == {}


def test_the_tests_mirror_the_packages() -> None:
    """A test module lives in the folder of the code it tests (``tests/bot/stores/`` tests
    ``bot/stores/``); only the shared support, the provider fakes and the data stand apart."""
    tests = PACKAGE_ROOT / "tests"
    apart = {"support", "fakes", "data", "__pycache__"}
    folders = [
        folder.relative_to(tests)
        for folder in tests.rglob("*")
        if folder.is_dir() and not apart & set(folder.relative_to(tests).parts)
    ]
    assert folders, "the tests have folders"
    assert [
        folder for folder in folders if not (PACKAGE_ROOT / folder / "__init__.py").exists()
    ] == []


def test_every_capability_plugs_in_through_its_one_entry_point() -> None:
    """Each capability has ``capability.py`` with ``plug``, and the root plugs every one."""
    capabilities = {
        router.parent.name for router in (PACKAGE_ROOT / "actions").glob("*/conversation.py")
    }
    entry_points = {
        path.parent.name
        for path in (PACKAGE_ROOT / "actions").glob("*/capability.py")
        if "def plug(" in path.read_text(encoding="utf-8")
    }
    plugged = {
        module.split(".")[1]
        for module in imported_modules(PACKAGE_ROOT / ROOT / "app.py")
        if module.startswith("actions.") and module.endswith(".capability")
    }
    assert capabilities == entry_points == plugged
