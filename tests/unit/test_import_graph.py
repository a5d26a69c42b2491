"""No import circle in the product code: the module graph of simulator, conformance, terminal, tui
and sscard, read from the source with `ast` (imports at the top and inside functions alike, since
an import inside a function only hides a circle), has no cycle; and the simulator imports none of
the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("simulator", "conformance", "terminal", "tui", "sscard")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The product module `name` stands for (a module, or the package holding a name), else None."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import name`: name may be a submodule (pkg.name) or a name of pkg itself
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved and resolved != module:
                found.add(resolved)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_path(sorted(component), graph))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One closed import path through a component, to print: a -> b -> ... -> a."""
    members, start = set(component), component[0]
    path, seen = [start], {start}
    while True:
        nxt = sorted(t for t in graph[path[-1]] if t in members)
        unseen = [t for t in nxt if t not in seen]
        if start in nxt and len(path) > 1 and not unseen:
            return path + [start]
        step = unseen[0] if unseen else start
        if step == start:
            return path + [start]
        path.append(step)
        seen.add(step)


def _show(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(c) for c in found)


def test_the_graph_sees_imports_inside_functions_and_relative_ones(tmp_path):
    modules = {"simulator": ROOT / "simulator/__init__.py", "simulator.card": ROOT / "simulator/card.py",
               "simulator.samples": ROOT / "simulator/samples.py"}
    source = tmp_path / "card.py"
    source.write_text("def f():\n    from .samples import x\n", encoding="utf-8")
    assert imports_of("simulator.card", source, modules) == {"simulator.samples"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_circle_in_the_product_code():
    found = cycles(import_graph())
    assert not found, "import circles:\n" + _show(found)


def test_the_simulator_imports_no_layer_above_it():
    graph = import_graph()
    upward = sorted(f"{m} -> {t}" for m, targets in graph.items() if m.split(".")[0] == "simulator"
                    for t in targets if t.split(".")[0] != "simulator")
    assert not upward, "\n".join(upward)
