"""The package's import structure: no imports hidden in functions, no import circles.

An import inside a function is how a circle gets dodged rather than untangled, and a
circle means two modules cannot be understood (or tested, or moved) one without the
other. Both are read from the source with ``ast``, so nothing is imported here.

Run ``python tests/unit/test_module_structure.py`` for the figures (modules, hidden
imports, circles) the README and issue 12 quote.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "qbwc_bridge"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / PACKAGE

# (module, imported module) pairs that may stay inside a function, each with its reason.
# Keep it short: a new entry needs a reason a reviewer would accept.
HIDDEN_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {}

# The engine (sync/) and the use cases (services/) know no backend: a backend imports them,
# not the other way round. They may ask ``qbwc_bridge.backends`` (the registry) and
# ``backends.base`` (what every backend is) for an account's backend, nothing more.
ENGINE = ("qbwc_bridge.sync", "qbwc_bridge.services")
BACKEND_PACKAGES = ("qbwc_bridge.backends.desktop", "qbwc_bridge.backends.online", "qbwc_bridge.backends.memory",
                    "qbwc_bridge.backends.push")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_package(modules: dict[str, Path], name: str) -> bool:
    return modules[name].name == "__init__.py"


def _resolve(modules: dict[str, Path], importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not _is_package(modules, importer):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(modules: dict[str, Path], importer: str, node: ast.AST) -> list[str]:
    """The package's modules one import statement loads (outside modules are dropped)."""
    found: list[str] = []
    if isinstance(node, ast.Import):
        found = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        source = _resolve(modules, importer, node)
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            found.append(submodule if submodule in modules else source)
    return [name for name in dict.fromkeys(found) if name in modules]


def _statements_outside_functions(tree: ast.Module):
    """Every statement that runs at import: module level, class bodies, if/try blocks."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))


def _inside_functions(tree: ast.Module):
    """(innermost function's name, import statement) for each import inside a function."""
    found: dict[int, tuple[str, ast.AST]] = {}
    for node in ast.walk(tree):  # outer functions come first; an inner one's name wins
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    found[id(inner)] = (node.name, inner)
    return sorted(found.values(), key=lambda pair: pair[1].lineno)


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module-level edges: what importing each module loads of the package.

    Importing ``a.b.c`` also runs ``a`` and ``a.b``; those edges are implied and left
    out, since a package importing its own submodules is the usual way up.
    """
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skipped: set[int] = set()
        for node in _statements_outside_functions(tree):
            if _is_type_checking(node):
                skipped.update(id(inner) for inner in ast.walk(node))
            if id(node) in skipped:
                continue
            for target in _targets(modules, name, node):
                if target != name:
                    graph[name].add(target)
    return graph


def hidden_imports(modules: dict[str, Path]) -> list[tuple[str, str, int, str]]:
    """(module, function, line, imported) for every import statement inside a function."""
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for function, node in _inside_functions(tree):
            targets = _targets(modules, name, node) or [
                ast.unparse(node).split()[1]
            ]
            for target in targets:
                found.append((name, function, node.lineno, target))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A concrete path a → … → a through the component, for the failure message."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    return component


def test_no_import_inside_a_function():
    modules = package_modules()
    hidden = [
        f"{module}:{line} in {function}() imports {target}"
        for module, function, line, target in hidden_imports(modules)
        if (module, target) not in HIDDEN_IMPORTS_ALLOWED
    ]
    assert not hidden, "imports inside functions (move them to the top):\n" + "\n".join(
        hidden
    )


def test_allowed_hidden_imports_are_still_there():
    present = {(module, target) for module, _, _, target in hidden_imports(package_modules())}
    stale = sorted(set(HIDDEN_IMPORTS_ALLOWED) - present)
    assert not stale, f"remove these from HIDDEN_IMPORTS_ALLOWED: {stale}"


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def test_the_engine_imports_no_backend():
    graph = import_graph(package_modules())
    found = {(module, target) for module, targets in graph.items() if _within(module, ENGINE)
             for target in targets if _within(target, BACKEND_PACKAGES)}
    assert not found, f"sync/ or services/ import a backend: {sorted(found)}"


def test_no_import_circle():
    graph = import_graph(package_modules())
    found = [" -> ".join(one_cycle(graph, c)) for c in cycles(graph)]
    assert not found, "import circles:\n" + "\n".join(found)


if __name__ == "__main__":
    modules = package_modules()
    graph = import_graph(modules)
    hidden = hidden_imports(modules)
    circles = cycles(graph)
    print(f"modules: {len(modules)}")
    print(f"import statements inside functions: "
          f"{len({(m, line) for m, _, line, _ in hidden})}")
    for module, function, line, target in hidden:
        print(f"  {module}:{line} {function}() -> {target}")
    engine_to_backend = sorted((m, t) for m, ts in graph.items() if _within(m, ENGINE)
                               for t in ts if _within(t, BACKEND_PACKAGES))
    print(f"sync/ and services/ importing a backend: {len(engine_to_backend)}")
    for module, target in engine_to_backend:
        print(f"  {module} -> {target}")
    print(f"import circles (strongly connected groups): {len(circles)}")
    for component in circles:
        print(f"  {len(component)} modules: {' -> '.join(one_cycle(graph, component))}")
    for module, _, _, target in hidden:
        if target in modules:
            graph[module].add(target)
    dodged = cycles(graph)
    print(f"circles the hidden imports dodge (they would be circles at the top): {len(dodged)}")
    for component in dodged:
        print(f"  {len(component)} modules: {' -> '.join(one_cycle(graph, component))}")
        print(f"    all: {', '.join(component)}")
