"""Guards that keep the package's shape: no import cycles, no forbidden arrows (issue 15)."""

import ast
import pathlib

import kerasnas

PACKAGE = pathlib.Path(kerasnas.__file__).resolve().parent

# (importer prefix, imported prefix): arrows that must not exist.
FORBIDDEN = [
    ("kerasnas.strategies", "kerasnas.runtime"),
    ("kerasnas.spaces", "kerasnas.runtime"),
    ("kerasnas.spaces", "kerasnas.strategies"),
    ("kerasnas.spaces", "kerasnas.builder"),
    ("kerasnas.layers", "kerasnas.spaces"),
    ("kerasnas.layers", "kerasnas.builder"),
    ("kerasnas.evaluation", "kerasnas.strategies"),
    ("kerasnas.export", "kerasnas.strategies"),
    ("kerasnas.trial", "kerasnas.runtime"),
    ("kerasnas.runtime", "kerasnas.search"),
    ("kerasnas.runtime", "kerasnas.api"),
]


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: pathlib.Path, module: str, modules) -> set[str]:
    """Every kerasnas module `path` imports, at any depth of the file (lazy imports too).

    `from package import submodule` counts as an arrow to the submodule only.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                name = f"{target}.{alias.name}"
                found.add(name if name in modules else target)
    return {name for name in found if name.startswith("kerasnas")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the kerasnas modules it imports (names resolved to existing modules)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in files.items():
        targets = set()
        for name in _imports(path, module, files):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_the_package_has_no_import_cycles():
    # `kerasnas/__init__.py` is the public API: it imports everything, and a
    # module reaching for `kerasnas.X` means module X, not the API.
    graph = {
        module: {t for t in targets if t != "kerasnas"}
        for module, targets in import_graph().items()
        if module != "kerasnas"
    }
    assert _cycles(graph) == []


def test_no_forbidden_arrows():
    offending = [
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        for source, forbidden in FORBIDDEN
        if (module == source or module.startswith(source + "."))
        and (target == forbidden or target.startswith(forbidden + "."))
    ]
    assert offending == []


def test_the_guards_see_a_cycle_when_there_is_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_search_loop_is_small():
    lines = (PACKAGE / "search.py").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300
    tree = ast.parse("\n".join(lines))
    long = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long == []
