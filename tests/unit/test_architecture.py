"""The package's shape, as docs/architecture.md draws it: imports point inward, no cycles.

web, cli and the worker call services; services hold the use-cases and depend on ports;
domain is pure; adapters implement the ports. Only the composition root (bootstrap.py) and
the runtime it builds know both services and adapters.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "guestgate"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every guestgate module and the guestgate modules it imports (at any depth of code)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("guestgate"):
                    targets.add(node.module)
                    targets.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("guestgate"))
        found[name] = targets
    modules = set(found)
    return {
        name: {t for t in targets if t in modules and t != name} for name, targets in found.items()
    }


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_domain_imports_only_the_domain_and_errors() -> None:
    for module, targets in _imports().items():
        if _layer(module) == "domain":
            outside = {t for t in targets if _layer(t) not in ("domain", "errors")}
            assert not outside, f"{module} imports {sorted(outside)}"


def test_services_never_import_adapters_web_or_cli() -> None:
    for module, targets in _imports().items():
        if _layer(module) == "services":
            outside = {t for t in targets if _layer(t) in ("adapters", "web", "cli", "bootstrap")}
            assert not outside, f"{module} imports {sorted(outside)}"


def test_adapters_never_import_web_cli_or_the_composition_root() -> None:
    for module, targets in _imports().items():
        if _layer(module) == "adapters":
            outside = {t for t in targets if _layer(t) in ("web", "cli", "bootstrap", "runtime")}
            assert not outside, f"{module} imports {sorted(outside)}"


def test_web_holds_no_directory_mode_branch() -> None:
    """The mode is chosen once, in bootstrap.py; routes call the same service in both."""
    for path in (PACKAGE / "web").rglob("*.py"):
        text = path.read_text()
        for needle in ("runtime.graph", "graph_mode", "GraphDirectory", "LocalDirectory"):
            assert needle not in text, f"{path.name} mentions {needle}"


def test_no_import_cycles() -> None:
    graph = _imports()
    # Package __init__ modules are imported by their children implicitly; only edges count.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_no_module_is_over_the_size_limit() -> None:
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines"
