"""bench/province.py builds a valid province: run at a tiny scale, so CI keeps it working."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from coordination.models import Agreement, FollowUp, Person, Task, Unit, UnitMember
from coordination.text import fold
from tests.factories import ensure_roles

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "province.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_province", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def province(db):
    ensure_roles()
    bench = load_bench()
    built = bench.Province(scale=0.002, seed=7)
    counts = built.build()
    accounts = bench.make_accounts(built)
    return SimpleNamespace(bench=bench, built=built, counts=counts, accounts=accounts)


def test_the_province_has_the_sizes_of_its_scale(province):
    sizes = province.bench.sizes(0.002)
    assert (
        Unit.objects.count()
        == province.counts["units"]
        == sizes["departments"] + 40 * sizes["communes"]
    )
    assert Person.objects.count() == province.counts["units"]
    assert Agreement.objects.count() == sizes["agreements"]
    assert Task.objects.count() == sizes["tasks"]
    assert FollowUp.objects.count() == sizes["followups"]
    assert FollowUp.history.count() == 2 * sizes["followups"]
    assert Task.history.count() == 2 * sizes["tasks"]
    assert Unit.objects.filter(locality__endswith=", tỉnh Lâm Đồng", level="commune").exists()


def test_the_items_are_skewed_towards_the_big_units_and_recent_years(province):
    total = FollowUp.objects.count()
    big = FollowUp.objects.filter(responsible_unit__in=province.built.big_units).count()
    recent = FollowUp.objects.filter(year__gte=2024).count()
    assert 0.2 * total < big < 0.4 * total
    assert recent > 0.6 * total


def test_the_records_are_stored_as_the_models_would_store_them(province):
    """Search text and thread fields as save() computes them; every rule of clean() holds."""
    carried = FollowUp.objects.filter(carried_over_from__isnull=False).select_related(
        "carried_over_from"
    )
    assert carried.exists()
    for item in carried[:20]:
        assert item.times_carried == item.carried_over_from.times_carried + 1
        assert item.first_raised_year < item.year
    assert FollowUp.objects.refresh_threads(FollowUp.objects.values_list("pk", flat=True)) == {}
    for item in FollowUp.objects.order_by("?")[:20]:
        expected = fold(" ".join([item.content, item.resolution, item.source_reference]))
        assert item.search_text == expected
        item.full_clean()
    for task in Task.objects.order_by("?")[:20]:
        task.full_clean()
    assert FollowUp.objects.filter(status="resolved", resolved_on__isnull=True).count() == 0


def test_the_accounts_see_the_pages(province):
    """The pages step runs against the province: every page answers 200 for both users."""
    staff = province.accounts["staff"]
    assert UnitMember.objects.get(user=staff).unit_id == province.built.big_units[0]
    results = province.bench.measure_pages(repeat=1)
    # 29 pages each: the 17 of follow-up items, tasks, reports and the landing page, and the
    # 12 of the meetings, indicators, signatories and agreements `make_extras` adds.
    assert len(results) == 58
    assert {result["status"] for result in results} == {200}
    assert all(result["queries"] > 0 and result["kb"] > 0 for result in results)
    # --only: the pages whose "user: page" holds the text, for both users.
    only = province.bench.measure_pages(repeat=1, only=["/records/outstanding/"])
    assert {result["page"] for result in only} == {
        "/records/outstanding/?year=2026",
        "/records/outstanding/ (default)",
        "/records/outstanding/ every year, last page",
    }
    assert len(only) == 6
