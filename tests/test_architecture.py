"""The house rules of ARCHITECTURE.md, checked on the source: which app may import which,
no import cycles, libraries without Django, and one way to take a post or a video down."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "config",
    "accounts",
    "jobs",
    "media",
    "consent",
    "feeds",
    "cameo",
    "generation",
    "remix",
    "moderation",
    "rights",
]
LIBRARIES = ["generation.pipeline", "cameo.biometrics", "remix.pipeline"]
# Who each app may import, besides itself and the libraries. Lower apps know nothing of
# higher ones: jobs runs kinds it never imports, consent is a ledger that cameo calls.
MAY_IMPORT = {
    "config": set(),
    "accounts": {"config"},
    "jobs": {"config", "accounts"},
    "media": {"config", "accounts", "jobs"},
    "consent": {"config", "accounts"},
    "feeds": {"config", "accounts", "jobs", "media"},
    "cameo": {"config", "accounts", "jobs", "media", "consent", "feeds"},
    "generation": {"config", "accounts", "jobs", "media", "consent", "feeds", "cameo"},
    "remix": {"config", "accounts", "jobs", "media", "consent", "feeds", "cameo", "generation"},
    # The registry and its checks: callers reach them through config.screens, never by name.
    "rights": {"config", "accounts", "jobs", "media"},
    # Above everything: it may act on any app, none may import it.
    "moderation": {
        "config",
        "accounts",
        "jobs",
        "media",
        "consent",
        "feeds",
        "cameo",
        "generation",
        "remix",
        "rights",
    },
}
# The composition root wires every app together; nothing imports it.
ROOT_MODULES = {"config.urls", "config.asgi", "config.celery", "config.settings"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def unit_of(module: str) -> str:
    """The library a module belongs to, or else its app."""
    for library in LIBRARIES:
        if module == library or module.startswith(library + "."):
            return library
    return module.split(".")[0]


def _type_checking_only(tree: ast.Module) -> set[int]:
    nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nodes.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return nodes


def imports_of(module: str) -> list[tuple[str, bool]]:
    """(imported first-party module, whether only for type checking), inside functions too."""
    tree = ast.parse(MODULES[module].read_text())
    typing_only = _type_checking_only(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from package import module` depends on the module; any other name, on the
            # module it is defined in.
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            target = name
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.append((target, id(node) in typing_only))
    return found


def test_each_app_imports_only_the_apps_below_it() -> None:
    wrong = []
    for module in MODULES:
        if module in ROOT_MODULES:
            continue
        here = unit_of(module)
        for target, _ in imports_of(module):
            there = unit_of(target)
            if there == here or there in LIBRARIES:
                continue
            if here in LIBRARIES or there not in MAY_IMPORT[here]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_libraries_never_import_django() -> None:
    wrong = []
    for module, path in MODULES.items():
        if unit_of(module) in LIBRARIES:
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                    names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                    if any(n.split(".")[0] in ("django", "rest_framework") for n in names):
                        wrong.append(module)
    assert wrong == []


def test_no_module_imports_itself_round_a_cycle() -> None:
    graph = defaultdict(set)
    for module in MODULES:
        for target, typing_only in imports_of(module):
            if not typing_only:
                graph[module].add(target)
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
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
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(
    ("model", "owner"), [("Post", "feeds.services"), ("Video", "media.services")]
)
def test_only_one_service_sets_a_post_or_a_video_taken_down(model: str, owner: str) -> None:
    down = f"{model}.State.TAKEN_DOWN"
    writers = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            writes = isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                "update",
                "create",
                "update_or_create",
            )
            values = [k.value for k in node.keywords if k.arg == "state"] if writes else []
            if isinstance(node, ast.Assign) and any(
                getattr(t, "attr", "") == "state" for t in node.targets
            ):
                values.append(node.value)
            if any(ast.unparse(value) == down for value in values):
                writers.add(module)
    assert writers == {owner}


def test_the_rules_know_every_app() -> None:
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps <= set(MAY_IMPORT)
