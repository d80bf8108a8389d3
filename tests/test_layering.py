"""Imports inside ``sparseprobe`` run downhill only, from the parsed source (nothing imported).

The stages, lowest first: sources -> datasets -> models -> activations -> probing ->
summaries -> report -> workflow -> cli. A module may import its own stage and the stages below
it; ``config`` and ``errors`` sit under every stage (importable by all, importing no stage).
Lazy imports inside functions count too: an upward import is a cycle waiting to happen
whether or not it runs at import time. What this does NOT establish: that a stage uses only
the public names of the stages below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("sources", "datasets", "models", "activations", "bases", "probing", "summaries", "report",
          "workflow", "cli")
BASE = ("errors", "config")  # below every stage, in this order


def rank(module: str) -> int | None:
    """The height of the stage a dotted ``sparseprobe...`` module belongs to (None: the
    package itself or something outside it)."""
    parts = module.split(".")
    if parts[0] != "sparseprobe" or len(parts) < 2:
        return None
    if parts[1] in BASE:
        return BASE.index(parts[1]) - len(BASE)
    return STAGES.index(parts[1]) if parts[1] in STAGES else None


def imported_modules(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in ``path`` (``module``'s source), relative
    imports resolved."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            if target == "sparseprobe":  # from sparseprobe import config: the names are modules
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return found


def upward_imports(src: Path) -> list[str]:
    """``file:line: <module> (stage) imports <module> (a higher stage)`` for each import under
    ``src`` (the folder holding the ``sparseprobe`` package) that runs uphill."""
    problems = []
    for path in sorted((src / "sparseprobe").rglob("*.py")):
        module = ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
        own = rank(module)
        if own is None:
            continue
        for line, target in imported_modules(path, module):
            theirs = rank(target)
            if theirs is not None and theirs > own:
                problems.append(f"{path.relative_to(src)}:{line}: {module} imports {target}, "
                                f"a stage above it (order: {' -> '.join(STAGES)})")
    return problems


def test_imports_in_src_run_downhill():
    assert upward_imports(ROOT / "src") == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"sparseprobe/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_planted_upward_import_is_found(tmp_path):
    src = _tree(tmp_path, {
        "sparseprobe/datasets/__init__.py": "",
        "sparseprobe/datasets/builder.py": (
            "from sparseprobe.sources import packages\n"
            "def late():\n    from sparseprobe.probing.sweep import run\n"),
        "sparseprobe/report/plots.py": "from ..workflow import plan\nimport sparseprobe.cli\n",
        "sparseprobe/errors.py": "from sparseprobe.models import loading\n",
    })
    problems = upward_imports(src)
    assert len(problems) == 4
    assert problems[0].startswith("sparseprobe/datasets/builder.py:3: sparseprobe.datasets."
                                  "builder imports sparseprobe.probing.sweep")
    assert "sparseprobe/errors.py:1: sparseprobe.errors imports sparseprobe.models" in problems[1]
    assert "plots imports sparseprobe.workflow" in problems[2]
    assert "plots imports sparseprobe.cli" in problems[3]


def test_downhill_and_shared_imports_pass(tmp_path):
    src = _tree(tmp_path, {
        "sparseprobe/cli.py": "from sparseprobe.workflow import plan\nfrom . import config\n",
        "sparseprobe/sources/packages.py": "from sparseprobe.errors import SourceError\n"
                                           "from sparseprobe.config import ModelSpec\n"
                                           "from . import other\nimport numpy\n",
        "sparseprobe/config.py": "from sparseprobe.errors import SparseProbeError\n",
    })
    assert upward_imports(src) == []
