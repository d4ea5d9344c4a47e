"""The shape of the house, checked on the source: the arrows between Ember's modules.

- No import cycles anywhere in ``desktop/ember`` (every ``import`` statement counts, also those
  inside functions and under ``TYPE_CHECKING``).
- The core (everything outside ``ember.ui``, ``ember.cli`` and ``ember.api``) never imports Qt or
  any of those shells, so the CLI, the window and the local API are shells over one core; the
  local API, which the window and the CLI both start, imports neither of them nor Qt.
- The composition root (``ember/core.py``) is the only place the core is assembled: nowhere else
  builds the assistant, the chat store or an engine, or opens the knowledge base.
- No module is over 600 lines, and the window keeps composition and layout only (< 400).
- The core prints nothing and parses no command line: that is the CLI's job.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "desktop" / "ember"
SHELLS = ("ember.ui", "ember.cli", "ember.api", "ember.__main__")  # the shells over the core
QT = ("PySide6", "shiboken6", "PyQt5", "PyQt6")
# Who may build each core part: the composition root, and the knowledge helper process's own
# entry point (a separate process, which opens the knowledge base it serves).
ASSEMBLY = {
    "Assistant": {"ember.core"},
    "ChatStore": {"ember.core"},
    "create_engine": {"ember.core"},
    "KnowledgeBase": {"ember.core", "ember.knowledge.helper_main"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> Iterator[str]:
    """Every module ``name`` imports, absolute (``from . import x`` resolved too)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from ember import ipc`` imports the module ember.ipc, not a name in ember.
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in MODULES else base


def internal_graph() -> dict[str, set[str]]:
    return {name: {m for m in imports(name) if m in MODULES and m != name} for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def is_core(name: str) -> bool:
    return not any(name == shell or name.startswith(shell + ".") for shell in SHELLS)


def test_the_package_has_no_import_cycles() -> None:
    assert find_cycle(internal_graph()) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if is_core(n)))
def test_core_modules_import_no_qt_ui_or_cli(name: str) -> None:
    forbidden = sorted(
        m
        for m in imports(name)
        if m.split(".")[0] in QT or any(m == s or m.startswith(s + ".") for s in SHELLS)
    )
    assert forbidden == [], f"{name} imports {forbidden}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("ember.api")))
def test_the_local_api_imports_no_qt_ui_or_cli(name: str) -> None:
    forbidden = sorted(
        m for m in imports(name) if m.split(".")[0] in QT or m.startswith(("ember.ui", "ember.cli"))
    )
    assert forbidden == [], f"{name} imports {forbidden}"


def calls(name: str) -> set[str]:
    """Names of everything module ``name`` calls (``f(...)`` and ``x.f(...)`` both give f)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                found.add(func.id)
            elif isinstance(func, ast.Attribute):
                found.add(func.attr)
    return found


def test_only_the_composition_root_assembles_the_core() -> None:
    builders = {name: calls(name) for name in MODULES}
    misplaced = {
        part: sorted({name for name, called in builders.items() if part in called} - allowed)
        for part, allowed in ASSEMBLY.items()
    }
    misplaced = {part: names for part, names in misplaced.items() if names}
    assert misplaced == {}


def test_no_module_is_over_600_lines_and_the_window_under_400() -> None:
    lengths = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()
    }
    assert {name: n for name, n in lengths.items() if n > 600} == {}
    assert lengths["ember.ui.window"] < 400


# Child-process entry points speak to their parent, not to a person; they may say how to run them.
CHILD_ENTRY_POINTS = {
    "ember.knowledge.helper_main",
    "ember.knowledge.parse_worker",
    "ember.knowledge.onnx_export_main",
}


def test_the_core_prints_nothing_and_parses_no_command_line() -> None:
    offenders = {
        name: sorted(calls(name) & {"print", "ArgumentParser", "add_subparsers"})
        for name in MODULES
        if is_core(name) and name not in CHILD_ENTRY_POINTS
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    terminal = {name for name in MODULES if is_core(name) and "argparse" in set(imports(name))}
    assert terminal == set()
