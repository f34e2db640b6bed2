"""The package's layout: rooms import only downhill, no module imports itself in a circle, the
public API and the command entry point stay as README promises, and benchmarks import no test code."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

import model
from model.__main__ import COMMANDS

PACKAGE = Path(model.__file__).parent
#: Room → rank: a module may import its own room and rooms of a lower rank only.
RANKS = {"names": 0, "paths": 0, "figures": 0, "uploads": 1, "results": 1, "classifier": 2, "data": 3,
         "training": 4, "evaluation": 4, "fitting": 5, "comparison": 5, "views": 6}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``model.*`` module ``path`` imports, at any depth (function-level imports included,
    ``if TYPE_CHECKING:`` blocks left out), as full dotted names."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "model"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            elif node.module and node.module.split(".")[0] == "model":
                target = node.module
            else:
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names if (PACKAGE.parent / f"{target}.{a.name}".replace(".", "/")).with_suffix(".py").exists()}
    return {m for m in found if m != "model"}


def room(name: str) -> str:
    return name.split(".")[1]


def facade_names() -> dict[str, str]:
    """``model/__init__``'s lazy public names → the module that defines each, read from its ``_API`` table
    (they are imported on first use, so an import statement does not show them)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    table = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", None) == "_API" for t in node.targets))
    return ast.literal_eval(table)


MODULES = {module_name(p): imported_modules(p) for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"}
MODULES["model"] |= set(facade_names().values())  # the façade depends on what it loads lazily


def test_each_facade_name_is_defined_where_the_table_says():
    """Read without importing: a top-level def, class or assignment of the name in its module."""
    for name, module in facade_names().items():
        tree = ast.parse((PACKAGE.parent / module.replace(".", "/")).with_suffix(".py").read_text())
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        assert name in defined, f"model.{name} is not defined in {module}"
    assert sorted(facade_names()) == model.__all__


def test_every_module_sits_in_a_known_room():
    assert {room(m) for m in MODULES if m != "model"} <= set(RANKS)


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m != "model"))
def test_imports_run_downhill(name):
    uphill = [m for m in MODULES[name] if room(m) != room(name) and RANKS[room(m)] >= RANKS[room(name)]]
    assert not uphill, f"{name} imports {uphill}"


def test_no_import_circle():
    graph = {m: {i for i in deps if i in MODULES} for m, deps in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " → ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in graph:
        if start not in state:
            visit(start, [start])


def test_layout_checker_sees_an_uphill_import(tmp_path):
    """The checker itself: a relative import from a lower room into a higher one is reported."""
    bad = PACKAGE / "uploads" / "_uphill_probe.py"
    bad.write_text("from ..views.catalog import model_report\n")
    try:
        deps = imported_modules(bad)
    finally:
        bad.unlink()
    assert "model.views.catalog" in deps and RANKS["views"] > RANKS["uploads"]


def test_fitting_sits_above_evaluation():
    """evaluation/ only measures: what fits a checkpoint or chooses what ships uses it, never the reverse."""
    assert RANKS["fitting"] > RANKS["evaluation"]


def test_benchmarks_import_nothing_from_tests():
    """A benchmark is run on its own (``python benchmarks/<script>.py``): code it shares lives in benchmarks/."""
    found = []
    for path in sorted((PACKAGE.parent / "benchmarks").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "tests"]
    assert not found, found


@pytest.mark.parametrize("name", model.__all__)
def test_public_api_names_load(name):
    assert getattr(model, name) is not None


def test_command_entry_point_lists_every_command():
    listing = subprocess.run([sys.executable, "-m", "model", "--help"], capture_output=True, text=True, check=True)
    for command, (module, _) in COMMANDS.items():
        assert command in listing.stdout
        assert (PACKAGE.parent / module.replace(".", "/")).with_suffix(".py").exists()
    unknown = subprocess.run([sys.executable, "-m", "model", "no-such-command"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown command" in unknown.stderr


def test_a_command_runs_through_the_entry_point(tmp_path):
    run = subprocess.run([sys.executable, "-m", "model", "evaluate", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "--checkpoint" in run.stdout


def test_light_rooms_load_without_the_scientific_stack():
    """The Data & evaluation and Model card pages read reports: no scikit-learn, SciPy or imagehash."""
    code = ("import sys; import model.views.catalog, model.views.charts, model.views.robustness, "
            "model.views.comparison_charts, model.views.diagnosis, model.views.external, model.comparison.results, model.classifier.explanation, "
            "model.views.headline, model.views.dataset, model.views.kaggle_testing, model.views.card, model.views.leak, "
            "model.names, model.paths; "
            "print(sorted(m for m in ('sklearn', 'scipy', 'imagehash', 'pytorch_grad_cam') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"


def test_a_command_given_missing_data_says_so_without_a_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "model", "audit", "--data", str(tmp_path / "nowhere"),
                          "--out", str(tmp_path / "a.json")], capture_output=True, text=True)
    assert run.returncode == 2 and "nowhere" in run.stderr and "Traceback" not in run.stderr
