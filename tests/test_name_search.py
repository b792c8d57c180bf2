"""Units and people found by their stored folded names (`search_text`, migration 0022): the
admin's autocomplete answers the first letters typed without folding every name again, with
the same results, in the Vietnamese order (issue 16)."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from coordination.collation import sort_key
from coordination.filters import names_holding
from coordination.models import Person, Task, Unit
from coordination.text import fold
from tests.factories import make_person, make_unit

pytestmark = pytest.mark.django_db

AUTOCOMPLETE = {"app_label": "coordination", "model_name": "task"}


def stored(record) -> str:
    return type(record)._base_manager.values_list("search_text", flat=True).get(pk=record.pk)


@pytest.fixture
def names():
    """Units whose names and places share letters, and people in them."""
    units = [
        make_unit(
            full_name="Ủy ban nhân dân xã Đạ Huoai", short_name="UBND xã", locality="xã Đạ Huoai"
        ),
        make_unit(full_name="Hội Nông dân xã Lâm Hà", short_name="HND xã", locality="xã Lâm Hà"),
        make_unit(
            full_name="Đoàn Thanh niên xã Đam Rông", short_name="ĐTN", locality="xã Đam Rông"
        ),
        make_unit(
            full_name="Ủy ban nhân dân tỉnh", short_name="UBND tỉnh", locality="tỉnh Lâm Đồng"
        ),
        make_unit(full_name="Sở Tư pháp", short_name="STP", locality="tỉnh Lâm Đồng"),
        make_unit(full_name="Công an xã Ủy Lâm", short_name="", locality="xã Ủy Lâm"),
    ]
    people = [
        make_person(full_name="Nguyễn Văn An", position="Chủ tịch", unit=units[0]),
        make_person(full_name="Đặng Thị Bình", position="Phó Chủ tịch", unit=units[1]),
        make_person(full_name="Lê Văn Đức", position="Bí thư Đoàn", unit=units[2]),
        make_person(full_name="Trần Thị Lâm", position="Giám đốc", unit=units[4]),
        make_person(full_name="Phạm Văn Út", position="", unit=units[3]),
    ]
    return units, people


def autocomplete(client, field, term) -> list[str]:
    response = client.get(
        reverse("admin:autocomplete"), {**AUTOCOMPLETE, "field_name": field, "term": term}
    )
    assert response.status_code == 200
    return [item["text"] for item in response.json()["results"]]


def holds_every_word(term, values) -> bool:
    """Each word of `term` in one of `values`, ignoring case and diacritics."""
    folded = [fold(value) for value in values]
    return all(any(word in value for value in folded) for word in fold(term).split())


def expected_units(term) -> list[str]:
    """Folded search over the name, short name and place, in the units' Vietnamese order."""
    found = [
        unit
        for unit in Unit.objects.all()
        if holds_every_word(term, (unit.full_name, unit.short_name, unit.locality))
    ]
    found.sort(key=lambda unit: (sort_key(unit.locality), sort_key(unit.full_name), unit.pk))
    return [str(unit) for unit in found]


def expected_people(term) -> list[str]:
    """Folded search over the name and position, and the unit's name and short name (not its
    place), in the Vietnamese order of names."""
    found = [
        person
        for person in Person.objects.select_related("unit")
        if holds_every_word(
            term,
            (person.full_name, person.position, person.unit.full_name, person.unit.short_name),
        )
    ]
    found.sort(key=lambda person: (sort_key(person.full_name), person.pk))
    return [str(person) for person in found]


@pytest.mark.parametrize("term", ["u", "Ủ", "đ", "d", "ub", "ủy", "lâm", "LAM", "xã Đạ", "zz"])
def test_units_by_any_number_of_letters(superuser_client, names, term):
    assert autocomplete(superuser_client, "lead_unit", term) == expected_units(term)


@pytest.mark.parametrize("term", ["a", "đ", "th", "lâm", "ubnd", "chủ tịch", "ủy lâm", "zz"])
def test_people_by_any_number_of_letters(superuser_client, names, term):
    assert autocomplete(superuser_client, "assignee", term) == expected_people(term)


def test_a_unit_place_is_not_a_persons_unit_name(superuser_client, names):
    """ "Lâm Đồng" is the place of two units, in neither's name: their people are not found
    by it, the units are."""
    assert autocomplete(superuser_client, "assignee", "lâm đồng") == []
    assert len(autocomplete(superuser_client, "lead_unit", "lâm đồng")) == 2


def test_names_holding_tells_the_names_from_the_place(names):
    units, _people = names
    found = names_holding(Task, "lead_unit", ["full_name", "short_name"], ["lam", "dong", "uy"])
    assert found["lam"] == {units[1].pk, units[5].pk}
    assert found["dong"] == set()
    assert found["uy"] == {units[0].pk, units[3].pk, units[5].pk}


class TestStoredFoldedNames:
    def test_written_on_create_and_save(self):
        unit = make_unit(
            full_name="Ủy ban nhân dân xã Đạ Huoai", short_name="UBND", locality="Lâm Đồng"
        )
        assert stored(unit) == "uy ban nhan dan xa da huoai ubnd lam dong"
        unit.short_name = "UBND xã"
        unit.save()
        assert stored(unit) == "uy ban nhan dan xa da huoai ubnd xa lam dong"
        person = make_person(full_name="Đặng Thị Bình", position="Phó Chủ tịch", unit=unit)
        assert stored(person) == "dang thi binh pho chu tich"

    def test_written_by_bulk_writes_and_update(self):
        unit = make_unit(full_name="Hội Nông dân", short_name="", locality="xã Lâm Hà")
        Unit.objects.filter(pk=unit.pk).update(locality="xã Đam Rông")
        assert stored(unit) == "hoi nong dan xa dam rong"
        (person,) = Person.objects.bulk_create(
            [Person(full_name="Lê Văn Đức", position="Bí thư", unit=unit)]
        )
        assert stored(Person.objects.get(full_name="Lê Văn Đức")) == "le van duc bi thu"
        person = Person.objects.get(full_name="Lê Văn Đức")
        person.position = "Chủ tịch"
        Person.objects.bulk_update([person], ["position"])
        assert stored(person) == "le van duc chu tich"

    def test_the_migration_fills_existing_rows(self):
        """Migration 0022's fill gives rows written before the column their value."""
        unit = make_unit(full_name="Sở Tư pháp", short_name="STP", locality="tỉnh Lâm Đồng")
        person = make_person(full_name="Trần Thị Lâm", position="Giám đốc", unit=unit)
        Unit._base_manager.filter(pk=unit.pk).update(search_text="")
        Person._base_manager.filter(pk=person.pk).update(search_text="")
        migration = importlib.import_module("coordination.migrations.0022_unit_person_search_text")
        migration.fill_search_text(django_apps, None)
        assert stored(unit) == "so tu phap stp tinh lam dong"
        assert stored(person) == "tran thi lam giam doc"
