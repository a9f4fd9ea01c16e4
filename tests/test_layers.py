"""The boundaries of the house, read from the source: which rooms may import which.

Layers, lowest first; a module may import its own layer and those below, never above:
  core              pure logic (and nothing outside core/, not even the standard library's I/O)
  errors, manifest, lazy  shared leaves
  store, identity, directory, counting        adapters and the count engine
  sendcheck, lists, serverinfo                features, built on the count
  api               Flask blueprints: parse, call one service, answer
  config, bootstrap, app, cli, cli_lists      composition: settings, wiring, entry points
  dev               development only, above everything; only the CLI's serve/demo import it
Imports under `if TYPE_CHECKING:` are annotations, not dependencies, and are not counted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[1] / "server"
PACKAGE = SERVER / "rollcall"

LAYERS = [
    {"core"},
    {"errors", "manifest", "lazy", "__init__", "sending.pure"},
    {"store", "identity", "directory", "counting", "shared"},
    {"sendcheck", "lists", "serverinfo", "sending"},
    {"api"},
    {"config", "bootstrap", "app", "cli", "cli_lists", "cli_send", "cli_queue", "cli_bounces"},
    {"dev"},
]
# The tracked send's pure modules (types, the reply table, back-off, tracking links, the SMTP
# section's verdict, a trace's words): the store keeps sends in those types, as it keeps lists
# in core's.
SENDING_PURE = {"model", "replies", "retry", "tracking", "settings", "queue_view", "trace",
                "trace_advice", "bounce_rate", "dsn", "dsn_words"}
# The one exception: the command line's `serve` and `demo` start the development server.
ALLOWED_UPWARD = {("cli", "dev")}
STDLIB_IO = {"os", "socket", "subprocess", "threading", "time", "sqlite3", "requests", "urllib",
             "http", "asyncio", "concurrent", "logging", "random", "io", "pathlib", "shutil"}
THIRD_PARTY_ALLOWED_IN_CORE: set[str] = set()


def room(module: str) -> str:
    """rollcall.directory.ews.client -> directory; rollcall.app -> app."""
    parts = module.split(".")
    if parts[1:2] == ["sending"] and len(parts) > 2 and parts[2] in SENDING_PURE:
        return "sending.pure"
    if len(parts) > 1 and any(parts[1] in rooms for rooms in LAYERS):
        return parts[1]
    return "__init__"  # the package itself, or a name it defines (`from .. import __version__`)


def layer(name: str) -> int:
    return next(i for i, rooms in enumerate(LAYERS) if name in rooms)


def module_name(path: Path) -> str:
    relative = path.relative_to(SERVER).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(path: Path, here: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module) for each import that runs: TYPE_CHECKING blocks left out."""
    tree = ast.parse(path.read_text("utf-8"))
    here = here or module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                    if child.module is None:  # from . import x: each name may be a module
                        found.extend((child.lineno, f"{target}.{a.name}") for a in child.names)
                        continue
                else:
                    target = child.module or ""
                found.append((child.lineno, target))
            visit(child)

    visit(tree)
    return found


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_there_are_modules_to_check():
    assert len(sources()) > 50
    assert {room(module_name(p)) for p in sources()} <= set().union(*LAYERS)


def upward_imports(path: Path, here: str) -> list[str]:
    """Each import of `path` (the module `here`) that reaches a higher layer, said plainly."""
    mine = room(here)
    found = []
    for line, target in runtime_imports(path, here):
        if not target.startswith("rollcall.") and target != "rollcall":
            continue
        theirs = room(target)
        if (mine, theirs) not in ALLOWED_UPWARD and layer(theirs) > layer(mine):
            found.append(f"{here}:{line} imports {target}: {mine} may not depend on {theirs}, "
                         "a higher layer")
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    assert upward_imports(path, module_name(path)) == []


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").rglob("*.py")),
                         ids=lambda p: p.name)
def test_core_imports_nothing_outside_core_and_does_no_io(path):
    for line, target in runtime_imports(path):
        top = target.split(".")[0]
        if target.startswith("rollcall."):
            assert target.startswith("rollcall.core"), f"core/{path.name}:{line} imports {target}"
        else:
            assert top not in STDLIB_IO, f"core/{path.name}:{line} imports {target} (I/O)"
            assert top in sys.stdlib_module_names or top in THIRD_PARTY_ALLOWED_IN_CORE, (
                f"core/{path.name}:{line} imports {target}, outside the standard library")


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_production_code_never_imports_a_simulator_or_dev(path):
    name = module_name(path)
    if room(name) == "dev":
        return
    for line, target in runtime_imports(path):
        assert not target.startswith(("ews_simulator", "graph_simulator", "smtp_simulator")), (
            f"{name}:{line} imports the simulator {target}")
        if target.startswith("rollcall.dev"):
            # The command line's `serve` and `demo` are the development server's front door.
            assert name == "rollcall.cli", f"{name}:{line} imports {target}"


# Third-party libraries that belong to one room: its adapter translates them into Rollcall's types.
OWNERS = {"exchangelib": ("directory.ews",), "msal": ("identity",), "dkim": ("sending.message",),
          "O365": ("directory.graph",), "redis": ("shared",),
          "flask_limiter": ("api", "app"),
          "aiosmtpd": ("sending.bounce_listener",), "flufl": ("sending.dsn",),
          "dns": ("sending.dns_checks", "sending.domain_auth"),
          "spf": ("sending.domain_auth",),
          "flask": ("api", "app", "dev"), "alembic": ("store",)}


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_outside_libraries_stay_in_their_adapters(path):
    name = module_name(path).removeprefix("rollcall.")
    for line, target in runtime_imports(path):
        owners = OWNERS.get(target.split(".")[0])
        if owners is not None:
            assert name.startswith(owners), f"{name}:{line} imports {target}; only {owners} may"


@pytest.mark.parametrize("path", sorted((PACKAGE / "api").rglob("*.py")),
                         ids=lambda p: p.name)
def test_the_api_calls_services_never_the_store_or_a_directory(path):
    for line, target in runtime_imports(path):
        assert not target.startswith(("rollcall.store", "rollcall.directory")), (
            f"api/{path.name}:{line} imports {target}: go through a service")


def test_counting_from_the_command_line_does_not_load_flask_or_exchangelib():
    # bootstrap builds everything the CLI needs; Flask is the web app's, and exchangelib loads
    # only when a count first reaches Exchange.
    code = ("import sys; from rollcall.bootstrap import bootstrap; from rollcall.config import "
            "load_config; s = bootstrap(load_config(environ={})); "
            "print(sorted(m for m in ('flask', 'exchangelib', 'ews_simulator', 'smtp_simulator') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_reading_the_configuration_loads_no_database_or_token_library():
    # Every command starts by reading the configuration: `rollcall --help` must stay quick.
    code = ("import sys, rollcall.cli; rollcall.config.load_config(environ={}); "
            "print(sorted(m for m in ('sqlalchemy', 'alembic', 'jwt', 'flask', 'exchangelib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_the_layer_check_sees_a_violation(tmp_path):
    # A check that cannot fail is no check: a core module importing the store is caught, an
    # annotation-only import is not, and neither is a relative import within core.
    bad = tmp_path / "bad.py"
    bad.write_text("from typing import TYPE_CHECKING\n"
                   "from ..store import db\n"
                   "from .model import Entry\n"
                   "if TYPE_CHECKING:\n    from rollcall.api import auth\n")
    found = upward_imports(bad, "rollcall.core.bad")
    assert found == ["rollcall.core.bad:2 imports rollcall.store: core may not depend on store, "
                     "a higher layer"]
