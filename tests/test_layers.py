"""The package's layers, as a contract: no import cycle, and no module imports a layer above it.

The import graph is read from the source with ``ast`` (every ``import``, at module level, in a
function or under ``TYPE_CHECKING``), so the test needs nothing importable and sees imports that
a run would not reach. CONTRIBUTING.md draws the same layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "tinygpt"
# The compiled extensions (csrc/): modules with no .py source, in the core.
COMPILED = ("tinygpt._bpe", "tinygpt._loader", "tinygpt._matvec")

# Lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "core",
        (
            "tinygpt._lazy",
            *COMPILED,
            "tinygpt.errors",
            "tinygpt.atomic",
            "tinygpt.allocator",
            "tinygpt.ron",
            "tinygpt.progress",
            "tinygpt.device",
            "tinygpt.precision",
            "tinygpt.config_file",
            "tinygpt.limits",
        ),
    ),
    ("corpora", ("tinygpt.data.sources",)),
    ("tokenizer", ("tinygpt.tokenizer",)),
    ("data", ("tinygpt.data",)),
    ("gpt-rs interop", ("tinygpt.gptrs",)),
    ("model", ("tinygpt.model",)),
    ("transformers interop", ("tinygpt.hf",)),
    ("runs, generation, evaluation", ("tinygpt.run", "tinygpt.generate", "tinygpt.evaluate")),
    ("train", ("tinygpt.train",)),
    ("application", ("tinygpt.cli", "tinygpt.__main__")),
]
# The package's own __init__ only names the public API (lazily); it sits above everything.
FACADE = "tinygpt"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """Every tinygpt module ``name`` imports (``from a import b`` counts as a.b when that is a module)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
    return {module for module in found if module == FACADE or module.startswith(FACADE + ".")}


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules) | set(COMPILED)
    return {name: imported_modules(name, path, known) & known for name, path in modules.items()}


def layer_of(module: str) -> int:
    best = (-1, -1)
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                best = max(best, (len(prefix), rank))
    if best[1] < 0:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS (and to CONTRIBUTING.md)")
    return best[1]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path a -> ... -> a, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_every_module_has_a_layer() -> None:
    for module in import_graph():
        if module != FACADE:
            layer_of(module)


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_a_layer_above_it() -> None:
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in import_graph().items()
        if module != FACADE
        for target in sorted(targets)
        if target != FACADE and layer_of(target) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def test_nothing_below_the_application_imports_the_facade() -> None:
    """``tinygpt/__init__`` is for users; inside the package, import the defining module."""
    users = [module for module, targets in import_graph().items() if FACADE in targets]
    assert users == [], users


@pytest.mark.parametrize(
    "graph, expected",
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ],
)
def test_find_cycle_sees_cycles(graph: dict[str, set[str]], expected: list[str] | None) -> None:
    """The checker itself: a graph with a cycle is caught, one without passes."""
    assert find_cycle(graph) == expected
