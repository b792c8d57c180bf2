"""The database itself enforces every rule of Meta.constraints, whatever path writes the row.

`bulk_create` and `QuerySet.update()` skip `full_clean()`, so only the database can refuse them.
Each write runs in its own `transaction.atomic()` so that PostgreSQL's aborted transaction
does not leak into the rest of the test.
"""

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError, UniqueConstraint

from coordination.choices import (
    AgreementKind,
    FollowUpKind,
    FollowUpStatus,
    PartyRole,
    TaskStatus,
    UnitKind,
    UnitLevel,
)
from coordination.models import (
    Agreement,
    AgreementParty,
    CountedCell,
    FollowUp,
    Indicator,
    IssuedReport,
    Signatory,
    Task,
    Unit,
    UnitAlias,
    UnitMember,
)
from tests.factories import (
    make_agreement,
    make_followup,
    make_indicator,
    make_meeting,
    make_party,
    make_person,
    make_signatory,
    make_task,
    make_unit,
)

pytestmark = pytest.mark.django_db

DAY = datetime.date(2024, 3, 13)


def all_constraints() -> dict[str, tuple]:
    """Every Meta constraint of the coordination app, by name, with its model."""
    return {
        constraint.name: (model, constraint)
        for model in apps.get_app_config("coordination").get_models()
        for constraint in model._meta.constraints
    }


def assert_names_constraint(error: IntegrityError, name: str) -> None:
    """The database error points at the expected constraint (SQLite names unique columns)."""
    model, constraint = all_constraints()[name]
    message = str(error)
    sqlite_names_columns = (
        connection.vendor == "sqlite"
        and isinstance(constraint, UniqueConstraint)
        and constraint.fields
    )
    if sqlite_names_columns:
        table = model._meta.db_table
        columns = [model._meta.get_field(field).column for field in constraint.fields]
        expected = ", ".join(f"{table}.{column}" for column in columns)
        assert f"UNIQUE constraint failed: {expected}" in message
        return
    assert name in message


def new_unit(**overrides) -> Unit:
    fields = {
        "full_name": "Đơn vị mới",
        "kind": UnitKind.OTHER,
        "level": UnitLevel.DISTRICT,
        "locality": "huyện Hàm Tân",
    }
    fields.update(overrides)
    return Unit(**fields)


def update(obj, **changes):
    """A write that skips full_clean(): QuerySet.update() on one row."""
    return lambda: type(obj).objects.filter(pk=obj.pk).update(**changes)


# Each case prepares valid rows and returns the write that breaks exactly one constraint.


def unit_same_name_other_case():
    make_unit(full_name="UBND Huyện", locality="huyện Hàm Tân")
    return lambda: Unit.objects.bulk_create([new_unit(full_name="ubnd huyện")])


def unit_same_short_name_other_case():
    make_unit(full_name="Ủy ban nhân dân huyện", short_name="UBND huyện", locality="huyện Hàm Tân")
    return lambda: Unit.objects.bulk_create([new_unit(short_name="ubnd huyện")])


def alias_same_spelling_other_form():
    """“Mặt trận huyện Hàm Tân” is the key of “MTTQ H. Hàm Tân”: one spelling, one unit."""
    UnitAlias.objects.create(unit=make_unit(), name="MTTQ H. Hàm Tân")
    other = make_unit()
    return lambda: UnitAlias.objects.bulk_create(
        [UnitAlias(unit=other, name="Mặt trận huyện Hàm Tân")]
    )


def unit_own_parent():
    return update(make_unit(), parent=F("pk"))


def unit_own_successor():
    return update(make_unit(), successor=F("pk"), dissolved_on=DAY, is_active=False)


def unit_successor_without_dissolution():
    return update(make_unit(is_active=False), successor=make_unit())


def unit_dissolved_but_active():
    return update(make_unit(is_active=True), dissolved_on=DAY)


def agreement_same_number_other_case():
    make_agreement(number="01/QCPH-UBND-MTTQ")
    duplicate = Agreement(
        number="01/qcph-ubnd-mttq",
        title="Bản trùng số",
        kind=AgreementKind.PROGRAMME,
        start_year=2022,
        end_year=2022,
    )
    return lambda: Agreement.objects.bulk_create([duplicate])


def agreement_ends_before_start():
    return update(make_agreement(), start_year=2021, end_year=2020)


def agreement_starts_before_1945():
    return update(make_agreement(), start_year=1944, end_year=1950)


def agreement_starts_after_2100():
    return update(make_agreement(), start_year=2101, end_year=2101)


def agreement_own_parent():
    return update(make_agreement(), parent=F("pk"))


def agreement_supersedes_itself():
    return update(make_agreement(), supersedes=F("pk"))


def party_twice():
    party = make_party(role=PartyRole.LEAD)
    again = AgreementParty(agreement=party.agreement, unit=party.unit, role=PartyRole.PARTY)
    return lambda: AgreementParty.objects.bulk_create([again])


def member_twice():
    user = User.objects.create_user("member")
    unit = make_unit()
    UnitMember.objects.create(user=user, unit=unit)
    return lambda: UnitMember.objects.bulk_create([UnitMember(user=user, unit=unit)])


def signatory_twice():
    signatory = make_signatory()
    again = Signatory(
        agreement=signatory.agreement,
        person=signatory.person,
        unit=make_unit(),
        position="Phó Chủ tịch",
    )
    return lambda: Signatory.objects.bulk_create([again])


def indicator_twice():
    indicator = make_indicator()
    again = Indicator(
        agreement=indicator.agreement,
        year=indicator.year,
        unit=indicator.unit,
        name=indicator.name,
        target=Decimal("50"),
    )
    return lambda: Indicator.objects.bulk_create([again])


def indicator_year_before_1945():
    return update(make_indicator(), year=1944)


def indicator_negative_target():
    return update(make_indicator(), target=Decimal("-1"))


def indicator_negative_actual():
    return update(make_indicator(), actual=Decimal("-0.5"))


def meeting_period_ends_before_start():
    return update(make_meeting(), period_from_year=2024, period_to_year=2023)


def meeting_period_before_1945():
    return update(make_meeting(), period_from_year=1944, period_to_year=1950)


def task_year_after_2100():
    return update(make_task(), year=2101)


def task_due_before_start():
    return update(make_task(), start_date=DAY, due_date=DAY - datetime.timedelta(days=1))


def task_progress_over_100():
    return update(make_task(), progress=101)


def task_done_without_completion_date():
    return update(make_task(), status=TaskStatus.DONE, completed_on=None)


def task_in_progress_with_completion_date():
    return update(make_task(status=TaskStatus.IN_PROGRESS), completed_on=DAY)


def task_cancelled_with_completion_date():
    return update(make_task(status=TaskStatus.CANCELLED), completed_on=DAY)


def task_repeating_and_carried():
    earlier, older = make_task(), make_task()
    return update(make_task(), repeats=earlier, carried_over_from=older)


def followup_year_before_1945():
    # With the year it was first raised, which cannot be after its year.
    return update(make_followup(), year=1944, first_raised_year=1944)


def followup_resolved_without_date():
    return update(make_followup(), status=FollowUpStatus.RESOLVED, resolved_on=None)


def followup_open_with_resolution_date():
    return update(make_followup(status=FollowUpStatus.OPEN), resolved_on=DAY)


def followup_in_progress_with_resolution_date():
    return update(make_followup(status=FollowUpStatus.IN_PROGRESS), resolved_on=DAY)


def followup_carried_over_with_resolution_date():
    return update(make_followup(status=FollowUpStatus.CARRIED_OVER), resolved_on=DAY)


def followup_due_before_raised():
    return update(make_followup(), raised_on=DAY, due_date=DAY - datetime.timedelta(days=1))


def followup_resolved_before_raised():
    return update(
        make_followup(),
        status=FollowUpStatus.RESOLVED,
        raised_on=DAY,
        resolved_on=DAY - datetime.timedelta(days=1),
    )


def followup_carried_over_from_itself():
    return update(make_followup(), carried_over_from=F("pk"))


def followup_repeating_itself():
    return update(make_followup(), repeats=F("pk"))


def followup_first_raised_after_its_year():
    return update(make_followup(year=2024), first_raised_year=2025)


def issued_report(**fields) -> IssuedReport:
    values = {
        "unit": make_unit(),
        "year": 2024,
        "number": "12/BC-UBND",
        "issued_on": datetime.date(2024, 3, 5),
        "subject_name": "UBND",
        "content": {},
        "docx": b"",
        "xlsx": b"",
    }
    values.update(fields)
    return IssuedReport.objects.create(**values)


def issued_report_of_unit_and_agreement():
    return update(issued_report(), agreement=make_agreement())


def issued_report_of_nothing():
    return update(issued_report(), unit=None)


def issued_report_version_twice_for_a_unit():
    first = issued_report()
    return lambda: issued_report(unit=first.unit)


def issued_report_version_twice_for_an_agreement():
    first = issued_report(unit=None, agreement=make_agreement())
    return lambda: issued_report(unit=None, agreement=first.agreement)


def issued_report_year_before_1945():
    return update(issued_report(), year=1900)


def counted_cell_twice():
    CountedCell.objects.create(kind="followups", unit_id=1, year=2026)
    return lambda: CountedCell.objects.create(kind="followups", unit_id=1, year=2026)


CASES = [
    ("coordination_unit_unique_name_in_locality", unit_same_name_other_case),
    ("coordination_unit_unique_short_name_in_locality", unit_same_short_name_other_case),
    ("coordination_unit_parent_not_self", unit_own_parent),
    ("coordination_unit_successor_not_self", unit_own_successor),
    ("coordination_unit_successor_needs_dissolution", unit_successor_without_dissolution),
    ("coordination_unit_dissolved_is_inactive", unit_dissolved_but_active),
    ("coordination_unitalias_unique_key", alias_same_spelling_other_form),
    ("coordination_agreement_unique_number", agreement_same_number_other_case),
    ("coordination_agreement_end_after_start", agreement_ends_before_start),
    ("coordination_agreement_start_year_range", agreement_starts_before_1945),
    ("coordination_agreement_start_year_range", agreement_starts_after_2100),
    ("coordination_agreement_parent_not_self", agreement_own_parent),
    ("coordination_agreement_supersedes_not_self", agreement_supersedes_itself),
    ("coordination_agreementparty_unique_unit", party_twice),
    ("coordination_signatory_unique_person", signatory_twice),
    ("coordination_unitmember_unique_unit", member_twice),
    ("coordination_indicator_unique_name", indicator_twice),
    ("coordination_indicator_year_range", indicator_year_before_1945),
    ("coordination_indicator_target_not_negative", indicator_negative_target),
    ("coordination_indicator_actual_not_negative", indicator_negative_actual),
    ("coordination_meeting_period_order", meeting_period_ends_before_start),
    ("coordination_meeting_period_from_year_range", meeting_period_before_1945),
    ("coordination_task_year_range", task_year_after_2100),
    ("coordination_task_due_after_start", task_due_before_start),
    ("coordination_task_progress_range", task_progress_over_100),
    ("coordination_task_done_has_completion_date", task_done_without_completion_date),
    ("coordination_task_completion_date_only_when_done", task_in_progress_with_completion_date),
    ("coordination_task_completion_date_only_when_done", task_cancelled_with_completion_date),
    ("coordination_task_one_predecessor", task_repeating_and_carried),
    ("coordination_followup_year_range", followup_year_before_1945),
    ("coordination_followup_resolved_has_date", followup_resolved_without_date),
    ("coordination_followup_open_has_no_resolution_date", followup_open_with_resolution_date),
    (
        "coordination_followup_open_has_no_resolution_date",
        followup_in_progress_with_resolution_date,
    ),
    (
        "coordination_followup_open_has_no_resolution_date",
        followup_carried_over_with_resolution_date,
    ),
    ("coordination_followup_due_after_raised", followup_due_before_raised),
    ("coordination_followup_resolved_after_raised", followup_resolved_before_raised),
    ("coordination_followup_not_carried_from_self", followup_carried_over_from_itself),
    ("coordination_followup_not_repeating_itself", followup_repeating_itself),
    ("coordination_followup_first_raised_not_after_year", followup_first_raised_after_its_year),
    ("coordination_issuedreport_one_subject", issued_report_of_unit_and_agreement),
    ("coordination_issuedreport_one_subject", issued_report_of_nothing),
    ("coordination_issuedreport_unit_version", issued_report_version_twice_for_a_unit),
    (
        "coordination_issuedreport_agreement_version",
        issued_report_version_twice_for_an_agreement,
    ),
    ("coordination_issuedreport_year_range", issued_report_year_before_1945),
    ("countedcell_kind_unit_year_unique", counted_cell_twice),
]


@pytest.mark.parametrize(
    ("constraint", "prepare"), CASES, ids=[prepare.__name__ for _, prepare in CASES]
)
def test_database_refuses_a_write_that_breaks_the_constraint(constraint, prepare):
    """A bulk_create or update() breaking the rule raises IntegrityError naming it."""
    write = prepare()
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        write()
    assert_names_constraint(excinfo.value, constraint)


def test_every_model_constraint_has_a_database_case():
    """No constraint of the app is left without a case above."""
    assert {name for name, _ in CASES} == set(all_constraints())


@pytest.mark.parametrize(
    "other_name",
    ["ỦY BAN NHÂN DÂN HUYỆN HÀM TÂN", "ủy ban nhân dân huyện hàm tân"],
    ids=["upper-case", "lower-case"],
)
def test_unit_names_differing_only_in_vietnamese_case_conflict(other_name):
    """The case-insensitive name rule covers accented capitals, not only ASCII ones."""
    make_unit(full_name="Ủy ban nhân dân huyện Hàm Tân", locality="huyện Hàm Tân")
    with pytest.raises(IntegrityError), transaction.atomic():
        Unit.objects.bulk_create([new_unit(full_name=other_name)])


def test_the_same_unit_name_is_fine_in_another_locality():
    """Names are unique within a locality only."""
    make_unit(full_name="UBND Huyện", locality="huyện Hàm Tân")
    Unit.objects.bulk_create([new_unit(full_name="ubnd huyện", locality="huyện Đầm Hà")])
    assert Unit.objects.filter(full_name__iexact="ubnd huyện").count() == 2


def test_blank_short_names_may_repeat_within_a_locality():
    """The short-name rule ignores units without a short name."""
    make_unit(full_name="Hội Nông dân huyện", short_name="", locality="huyện Hàm Tân")
    Unit.objects.bulk_create([new_unit(full_name="Hội Cựu chiến binh huyện", short_name="")])
    assert Unit.objects.filter(locality="huyện Hàm Tân", short_name="").count() == 2


def test_rules_comparing_two_dates_accept_a_missing_date():
    """Comparisons with an empty date or year pass: the rule applies once both are known."""
    task = make_task(start_date=None, due_date=DAY)
    followup = make_followup(raised_on=None, due_date=DAY)
    meeting = make_meeting(period_from_year=None, period_to_year=None)
    indicator = make_indicator(actual=None)
    assert (task.start_date, followup.raised_on, meeting.period_from_year) == (None, None, None)
    assert indicator.actual is None


def test_an_item_can_be_carried_over_only_once():
    """Two items cannot both continue the same item (carried_over_from is one-to-one)."""
    old = make_followup(status=FollowUpStatus.CARRIED_OVER)
    make_followup(carried_over_from=old)
    second = FollowUp(
        kind=FollowUpKind.LIMITATION,
        year=old.year + 1,
        content="Bản chuyển lần hai",
        responsible_unit=old.responsible_unit,
        carried_over_from=old,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUp.objects.bulk_create([second])
    assert FollowUp.objects.filter(carried_over_from=old).count() == 1


def test_progress_cannot_be_negative():
    """The progress column refuses negative values too."""
    task = make_task()
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(progress=-1)


# ---------------------------------------------------------------------------
# Deleting what other records still point to
# ---------------------------------------------------------------------------


def unit_of_a_person():
    return make_person().unit


def unit_leading_a_task():
    return make_task().lead_unit


def unit_responsible_for_a_followup():
    return make_followup().responsible_unit


def unit_that_is_a_party():
    return make_party().unit


def unit_that_is_a_parent():
    return make_unit(parent=make_unit()).parent


def person_who_signed():
    return make_signatory().person


def person_assigned_a_task():
    return make_task(assignee=make_person()).assignee


def agreement_with_a_task():
    return make_task().agreement


def agreement_with_an_indicator():
    return make_indicator().agreement


def agreement_with_a_followup():
    return make_followup(agreement=make_agreement()).agreement


def agreement_with_a_child_programme():
    return make_agreement(parent=make_agreement()).parent


PROTECTED = [
    unit_of_a_person,
    unit_leading_a_task,
    unit_responsible_for_a_followup,
    unit_that_is_a_party,
    unit_that_is_a_parent,
    person_who_signed,
    person_assigned_a_task,
    agreement_with_a_task,
    agreement_with_an_indicator,
    agreement_with_a_followup,
    agreement_with_a_child_programme,
]


@pytest.mark.parametrize("referenced", PROTECTED, ids=[f.__name__ for f in PROTECTED])
def test_a_record_still_referenced_cannot_be_deleted(referenced):
    """Deleting a unit, person or agreement in use raises ProtectedError and keeps it."""
    obj = referenced()
    with pytest.raises(ProtectedError), transaction.atomic():
        obj.delete()
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_deleting_an_agreement_removes_its_parties_and_signatories():
    """Party rows and signatures belong to the agreement and go with it."""
    signatory = make_signatory()
    agreement = signatory.agreement
    make_party(agreement=agreement, unit=signatory.unit)
    agreement.delete()
    assert not AgreementParty.objects.filter(agreement_id=agreement.pk).exists()
    assert not Signatory.objects.filter(agreement_id=agreement.pk).exists()
    assert Unit.objects.filter(pk=signatory.unit.pk).exists()
