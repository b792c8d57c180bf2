"""bench/import_export.py's province modes work on a tiny province, so CI keeps them working."""

import csv
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from coordination.models import FollowUp, Task, Unit
from tests.factories import ensure_roles, make_followup, make_unit

ROOT = Path(__file__).resolve().parent.parent


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / path)
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench_module(db, monkeypatch):
    ensure_roles()
    monkeypatch.setattr(sys, "argv", ["import_export.py"])
    module = load("bench_import_export", "import_export.py")
    monkeypatch.setattr(module, "PROVINCE_ROWS", 120)
    monkeypatch.setattr(module, "LOAD_FILE_ROWS", 150)
    return module


@pytest.fixture
def bench(bench_module):
    load("bench_province_for_import", "province.py").Province(scale=0.002, seed=7).build()
    return bench_module


def test_new_rows_are_previewed_then_confirmed_into_the_loaded_province(bench, tmp_path):
    args = SimpleNamespace(
        seed=7, repeat=1, workdir=str(tmp_path), part="loaded", file=0, profile_stats=None
    )
    assert bench.province_files(args)["files"] == 1
    before = FollowUp.objects.count()
    preview = bench.province_import(SimpleNamespace(**vars(args), action="province-preview"))
    assert preview["table_rows"] == before and preview["seconds"] > 0
    assert FollowUp.objects.count() == before
    bench.province_import(SimpleNamespace(**vars(args), action="province-confirm"))
    assert FollowUp.objects.count() == before + 120


def test_the_export_for_loading_drops_record_numbers_and_repeated_keys(bench, tmp_path):
    exported = bench.province_export(SimpleNamespace(workdir=str(tmp_path)))
    files = sorted((tmp_path / "load").glob("*.csv"))
    assert [f.name.split("-")[1] for f in files][:3] == ["units", "people", "agreements"]
    tasks = [f for f in files if "-tasks-" in f.name]
    with open(tasks[0], encoding="utf-8-sig") as stream:
        rows = list(csv.reader(stream))
    assert "Mã" not in rows[0] and "Phiên bản" not in rows[0]
    assert 1 < len(rows) <= 151
    assert 0 < exported["rows"]["tasks"] <= Task.objects.count()
    assert exported["rows"]["followups"] <= FollowUp.objects.count()


def test_a_file_loaded_again_is_found_unchanged(bench, tmp_path):
    """`load_file` (the load mode's one file): the province's own follow-up items, exported
    and loaded again, are all found, none written twice."""
    bench.province_export(SimpleNamespace(workdir=str(tmp_path)))
    [first, *_rest] = sorted((tmp_path / "load").glob("*-followups-*.csv"))
    before = FollowUp.objects.count()
    result = bench.load_file(first)
    assert "refused" not in result, result
    assert (result["kind"], result["new"]) == ("followups", 0)
    assert result["seconds"] > 0
    assert FollowUp.objects.count() == before


def another_province():
    """A province as another script might build it: its own unit names, two units of one
    name (in different places), items in two years only, some with co-responsible units."""
    east = make_unit(full_name="Hội Nông dân xã Đông Hải", locality="xã Đông Hải")
    make_unit(full_name="Hội Phụ nữ xã Tây Sơn", locality="xã Tây Sơn")
    make_unit(full_name="Hội Phụ nữ xã Tây Sơn", locality="huyện Tây Sơn")
    for n in range(30):
        item = make_followup(year=2019 + 3 * (n % 2), responsible_unit=east, content=f"Việc {n}")
        item.co_responsible_units.add(east)
    return east


def test_a_province_built_by_another_script_gets_files_of_its_own_units_and_years(
    bench_module, tmp_path
):
    """`--loaded-from` a province the generator did not build: the files name only units a
    row can name (not a name two units share), in the province's own years, and every row
    goes in as new."""
    another_province()
    args = SimpleNamespace(
        seed=7, repeat=1, workdir=str(tmp_path), part="loaded", file=0, profile_stats=None
    )
    assert bench_module.province_files(args)["units"] == 1
    sheet = openpyxl.load_workbook(tmp_path / "province-0.xlsx").active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {row[3] for row in rows} == {"Hội Nông dân xã Đông Hải"}
    assert {row[1] for row in rows} <= {2019, 2022}
    before = FollowUp.objects.count()
    bench_module.province_import(SimpleNamespace(**vars(args), action="province-confirm"))
    assert FollowUp.objects.count() == before + 120


def test_the_empty_copy_of_a_province_has_its_units_and_no_follow_up_item(bench_module):
    """The *empty* database of `--loaded-from`: the copy's follow-up items, their links and
    their history removed, its units kept."""
    east = another_province()
    units = Unit.objects.count()
    bench_module.remove_followups()
    assert not FollowUp.objects.exists()
    assert not FollowUp.history.exists()
    assert not FollowUp.co_responsible_units.through.objects.exists()
    assert Unit.objects.count() == units
    assert Unit.objects.filter(pk=east.pk).exists()
