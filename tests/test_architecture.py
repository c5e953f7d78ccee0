"""The rooms of the house: who may import whom, and who may read the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot
from bot.settings import PACKAGE_ROOT

COMPOSITION = {
    "bot/app.py",
    "bot/cli.py",
    "bot/compose_payments.py",
    "bot/compose_providers.py",
}
FORBIDDEN = {
    "bot": {"channels", "actions", "intents"},
    "channels": {"actions", "intents"},
    "actions": {"channels"},
    "intents": {"channels", "actions"},
}


def python_files(package: str) -> list[Path]:
    return sorted((PACKAGE_ROOT / package).rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_what_their_room_allows(package: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE_ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in python_files(package)
        if str(path.relative_to(PACKAGE_ROOT)) not in COMPOSITION
    }
    assert {path: roots for path, roots in offenders.items() if roots} == {}


def test_only_the_settings_read_the_environment() -> None:
    readers = []
    for package in FORBIDDEN:
        for path in python_files(package):
            source = path.read_text(encoding="utf-8")
            if "os.environ" in source or "getenv" in source:
                readers.append(str(path.relative_to(PACKAGE_ROOT)))
    assert readers == []


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
    from bot.settings import Settings

    readme = (PACKAGE_ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = [
        f"RSV_{name.upper()}"
        for name in Settings.model_fields
        if f"`RSV_{name.upper()}`" not in readme
    ]
    assert undocumented == []


SHARED_BY_TESTS = ("tests.support", "tests.fakes")
"""Where the helpers and fixtures that several test modules use live."""


def imported_modules(path: Path) -> set[str]:
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
            for module in imported_modules(path)
            if module.startswith("tests.") and not module.startswith(SHARED_BY_TESTS)
        )
        if borrowed:
            offenders[str(path.relative_to(PACKAGE_ROOT))] = borrowed
    assert offenders == {}
