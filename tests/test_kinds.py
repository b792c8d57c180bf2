"""The registry of record kinds and the shape of the code: each kind declared completely in
its entry, every field of its model placed, references registered first, no import cycle."""

import ast
from pathlib import Path

import pytest
from django.contrib import admin

from coordination import kinds, registry, scoping
from coordination.admin.spreadsheets import SpreadsheetAdminMixin
from coordination.models import Unit

APP = Path(__file__).resolve().parent.parent / "coordination"
#: Fields every record has, shown by every page and never typed in a sheet.
RECORD_FIELDS = {"id", "created_at", "updated_at", "search_text"}
#: Fields no spreadsheet column carries, and why.
NOT_IN_SPREADSHEETS = {
    ("agreements", "scan"): "a scanned file is uploaded in the admin, not typed in a cell",
    ("agreements", "parties"): "written by the lead units and other parties link columns",
}
#: Fields the change form edits in an inline rather than in a section.
IN_INLINES = {("agreements", "parties")}

KIND_NAMES = kinds.names()


def editable_fields(model) -> list[str]:
    return [
        field.name
        for field in model._meta.get_fields()
        if (getattr(field, "concrete", False) or field.many_to_many)
        and not field.auto_created
        and field.editable
        and field.name not in RECORD_FIELDS
    ]


def test_the_kinds_are_registered_once_in_the_order_people_work():
    assert KIND_NAMES == [
        "units",
        "people",
        "agreements",
        "signatories",
        "meetings",
        "tasks",
        "followups",
        "indicators",
    ]
    assert len({kind.model for kind in kinds.all_kinds()}) == len(KIND_NAMES)
    for kind in kinds.all_kinds():
        assert registry.get(kind.name) is kind
        assert registry.for_model(kind.model) is kind
    with pytest.raises(ValueError):
        registry.register(kinds.get("tasks"))


@pytest.mark.parametrize("name", KIND_NAMES)
def test_a_kind_refers_only_to_kinds_registered_before_it(name):
    """A full import in registry order never names a record of a later sheet (references
    within the same kind are resolved within the file)."""
    kind = kinds.get(name)
    earlier = KIND_NAMES[: KIND_NAMES.index(name) + 1]
    for field in kind.model._meta.get_fields():
        if (field.many_to_one or field.many_to_many) and not field.auto_created:
            target = registry.for_model(field.related_model)
            if target is not None:
                assert target.name in earlier, f"{name}.{field.name} → {target.name}"


@pytest.mark.parametrize("name", KIND_NAMES)
def test_every_field_of_the_model_is_placed_in_its_kind_entry(name):
    """Adding a field to a model and forgetting the kind entry fails here, naming the entry:
    each field is in a section (the change form and the detail page) and a column of the
    spreadsheets, unless listed above with its reason."""
    kind = kinds.get(name)
    columns = {column.attribute for column in kind.resource.columns()}
    for field in editable_fields(kind.model):
        if (name, field) not in IN_INLINES:
            assert field in kind.form_fields, f"add {field!r} to coordination/kinds/{name}.py"
        if (name, field) not in NOT_IN_SPREADSHEETS:
            assert field in columns, f"add a {field!r} column to coordination/kinds/{name}.py"
    assert set(kind.form_fields) <= set(editable_fields(kind.model))
    for field in kind.detail_fields:
        kind.model._meta.get_field(field)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_every_kind_has_its_pages_its_admin_and_units_that_own_it(name):
    kind = kinds.get(name)
    assert kind.has_pages and kind.filterset._meta.model is kind.model
    assert kind.records().model is kind.model
    model_admin = admin.site._registry[kind.model]
    assert isinstance(model_admin, SpreadsheetAdminMixin)
    assert model_admin.search_filterset is kind.filterset
    for path in (*kind.owning_units, *kind.involving):
        # Each path ends on a unit: filtering by it runs.
        assert kind.model.objects.filter(**{f"{path}__in": []}).query is not None
        target = kind.model
        for part in path.split("__"):
            target = Unit if part == "pk" else target._meta.get_field(part).related_model
        assert target is Unit, f"{name}: {path}"
    assert scoping.owning_paths(kind.model) == kind.owning_units


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("coordination"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("coordination")}
    return found


def _app_modules() -> dict[str, Path]:
    modules = {}
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(APP.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def test_no_import_cycle_between_the_apps_modules():
    """Layers only look down: no module imports, even inside a function, one that imports
    it back."""
    modules = _app_modules()
    graph = {
        name: {dep for dep in _imports(path) if dep in modules and dep != name}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}
    cycles = []

    def visit(name, trail):
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append(" → ".join([*trail[trail.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_module_is_much_longer_than_a_page_or_two():
    longest = {
        str(path.relative_to(APP.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in _app_modules().values()
    }
    assert {path: lines for path, lines in longest.items() if lines > 420} == {}


def test_a_field_list_is_declared_once_per_resource():
    """A Resource's Meta.fields is made from its declared columns (ColumnsMetaclass)."""
    for kind in kinds.all_kinds():
        declared = [name for name, field in kind.resource.fields.items() if field is not None]
        assert sorted(kind.resource._meta.fields) == sorted(declared)
