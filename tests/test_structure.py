"""The import graph: no cycles, no imports hidden inside functions, and the layers point one way."""

import ast
from pathlib import Path

import genlab

PACKAGE = Path(genlab.__file__).parent
# cli.py imports its subcommands' modules when they run, so that a usage error does not wait for torch.
LAZY_IMPORTS_ALLOWED = {"genlab.cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported_modules(node: ast.AST) -> set[str]:
    """genlab modules named by one import statement (``from genlab.x import y`` counts genlab.x.y when it is a module)."""
    found = set()
    if isinstance(node, ast.Import):
        found = {alias.name for alias in node.names if alias.name.startswith("genlab")}
    elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genlab"):
        found = {node.module} | {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES}
    return {name for name in found if name in MODULES}


def graph() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """(module -> genlab modules it imports at module level, module -> imports made inside functions)."""
    edges, lazy = {}, {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        edges[name] = set().union(*(imported_modules(node) for node in tree.body), set()) - {name}
        inner = [
            target
            for func in ast.walk(tree) if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(func) for target in imported_modules(node)
        ]
        if inner:
            lazy[name] = inner
    return edges, lazy


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else path + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_graph_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles():
    edges, _ = graph()
    assert len(edges) > 40  # the walk found the package
    assert find_cycle(edges) is None


def test_no_imports_hidden_in_functions():
    _, lazy = graph()
    assert {name: targets for name, targets in lazy.items() if name not in LAZY_IMPORTS_ALLOWED} == {}


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_layers_point_one_way():
    edges, _ = graph()

    def reaches(start: str, prefix: str) -> set[str]:
        return {m for m in reachable(edges, start) if m == prefix or m.startswith(prefix + ".")}

    for name in MODULES:
        if name.startswith("genlab.metrics"):  # the maths, extractors and feature cache stand alone
            assert not reaches(name, "genlab.scoring") | reaches(name, "genlab.trained") | reaches(name, "genlab.training"), name
        if name.startswith(("genlab.models", "genlab.families", "genlab.trained")):  # models never know how they are trained
            assert not reaches(name, "genlab.training"), name


def test_reporting_is_a_leaf_below_scoring_runs_and_training():
    """reporting/ draws what it is given: directly or through anything it imports, it never reaches scoring, runs,
    sampling, the families' models, training, the hand-in, the demo or the command line."""
    edges, _ = graph()
    above = ("genlab.scoring", "genlab.trained", "genlab.sampling", "genlab.families", "genlab.training", "genlab.handin", "genlab.demo", "genlab.cli")

    leaks = {name: sorted(m for m in reachable(edges, name) if m.startswith(above)) for name in edges if name.startswith("genlab.reporting")}
    assert {name: found for name, found in leaks.items() if found} == {}
