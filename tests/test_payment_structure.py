"""The payment package's shape: one module per component kind, no code in package __init__ files, no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import bhmeasures.payment

PACKAGE = Path(bhmeasures.payment.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def test_package_init_files_hold_no_code() -> None:
    """Only a docstring, imports and __all__: what a package offers is found in its modules."""
    for path in PACKAGE.rglob("__init__.py"):
        for node in ast.parse(path.read_text()).body:
            docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            all_ = isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]
            assert docstring or all_ or isinstance(node, (ast.Import, ast.ImportFrom)), f"{path}:{node.lineno}"


def test_no_import_cycles_even_through_imports_inside_functions() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps.update(m for m in (node.module, *(f"{node.module}.{a.name}" for a in node.names)) if m in modules)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in modules)
        graph[name] = deps - {name, "bhmeasures.payment"}  # the package's __init__ only re-exports

    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        assert node not in stack, " -> ".join([*stack[stack.index(node):], node])
        if node in done:
            return
        for dep in sorted(graph.get(node, ())):
            visit(dep, [*stack, node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])
