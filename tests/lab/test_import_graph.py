"""The lab's modules import each other without a cycle, imports inside functions and relative ones included, and its
PVE core (lab/pve) imports neither the API (lab/api) nor the shims (lab/shims), which both build on it."""
from __future__ import annotations

import ast
from pathlib import Path

LAB = Path(__file__).resolve().parents[2] / "lab"


def modules() -> dict[str, Path]:
    found = {}
    for path in LAB.rglob("*.py"):
        parts = path.relative_to(LAB.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known) -> set[str]:
    """The lab modules `name` imports anywhere in its code: `from X import Y` is X.Y where that is a module, else X."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]) if node.level else ""
            source = ".".join(filter(None, [base, node.module]))
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source for alias in node.names]
        else:
            continue
        out |= {t for t in targets if t in known and t != name}
    return out


def test_no_import_cycle_in_the_lab():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name not in done:
            path.append(name)
            for target in sorted(graph[name]):
                visit(target)
            path.pop()
            done.add(name)

    for name in sorted(graph):
        visit(name)


def test_the_pve_core_imports_neither_the_api_nor_the_shims():
    known = modules()
    for name in (n for n in known if n.startswith("lab.pve")):
        assert not {t for t in imports(name, known[name], known) if t.startswith(("lab.api", "lab.shims"))}, name
