"""The domain stays pure: no module of kzlink.domain reaches the web framework,
the database, HTTP, or kzlink's own adapters, web layer, simulator, settings
or log redaction. Those depend on the domain, never the other way round."""

import ast
from pathlib import Path

import kzlink.domain

DOMAIN = Path(kzlink.domain.__file__).parent
PACKAGE = "kzlink.domain"

FORBIDDEN = (
    "pyramid",
    "sqlalchemy",
    "requests",
    "waitress",
    "webob",
    "kzlink.adapters",
    "kzlink.web",
    "kzlink.simulator",
    "kzlink.settings",
    "kzlink.redaction",
)


def package_of(path: Path, root: Path) -> str:
    """The package a module of ``root`` (kzlink.domain) belongs to, for
    resolving its relative imports."""
    parts = path.relative_to(root).parent.parts
    return ".".join((PACKAGE, *parts))


def imported_names(path: Path, root: Path):
    """Every module ``path`` imports, relative imports made absolute, with
    the line; imports inside functions and ``TYPE_CHECKING`` blocks count."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = package_of(path, root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            yield module, node.lineno
            # `from kzlink import web` imports kzlink.web.
            for alias in node.names:
                yield f"{module}.{alias.name}", node.lineno


def is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def offending_imports(directory: Path) -> list[str]:
    found = []
    for path in sorted(directory.rglob("*.py")):
        reported = set()
        for module, line in imported_names(path, directory):
            # `from pyramid.x import y` is one offence, not two.
            if is_forbidden(module) and not any(
                module.startswith(name + ".") for name in reported
            ):
                reported.add(module)
                found.append(f"{path.relative_to(directory.parent)}:{line}: {module}")
    return found


def test_the_domain_imports_no_framework_nor_outer_layer():
    modules = sorted(DOMAIN.rglob("*.py"))
    assert len(modules) >= 5, modules

    offending = offending_imports(DOMAIN)

    assert not offending, "the domain imports:\n" + "\n".join(offending)


def test_each_shape_of_a_forbidden_import_is_found(tmp_path):
    domain = tmp_path / "domain"
    domain.mkdir()
    (domain / "__init__.py").write_text("")
    (domain / "impure.py").write_text(
        "import os\n"
        "import sqlalchemy.orm\n"
        "from pyramid.request import Request\n"
        "from kzlink import settings\n"
        "from kzlink.domain import model\n"
        "from . import errors\n"
        "from ..web import views\n"
        "def later():\n"
        "    import requests\n"
    )

    found = [line.rpartition(": ")[2] for line in offending_imports(domain)]

    assert "sqlalchemy.orm" in found
    assert "pyramid.request" in found
    assert "kzlink.settings" in found
    assert "requests" in found
    assert "kzlink.web" in found
    assert not [name for name in found if name.startswith(("os", "kzlink.domain"))]
