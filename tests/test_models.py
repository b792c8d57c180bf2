"""Model rules: Vietnamese validation messages, clean text on every write path, querysets."""

import datetime
import unicodedata
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F, Value
from django.db.models.functions import Concat

from coordination.choices import (
    FollowUpKind,
    FollowUpStatus,
    IndicatorComparison,
    TaskStatus,
)
from coordination.models import (
    Agreement,
    FollowUp,
    Indicator,
    Meeting,
    Person,
    Signatory,
    Task,
    Unit,
)
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_indicator,
    make_person,
    make_signatory,
    make_task,
    make_unit,
    today,
)

pytestmark = pytest.mark.django_db


def errors_of(record) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()
    return excinfo.value.message_dict


# ---------------------------------------------------------------------------
# full_clean(): each rule reports a Vietnamese message on its field
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("vi")
class TestVietnameseValidationMessages:
    def test_end_year_before_start_year_is_reported_on_end_year(self):
        """An agreement ending before it starts is refused on end_year."""
        agreement = Agreement(
            number="05/CTPH", title="Chương trình", kind="programme", start_year=2022, end_year=2021
        )
        assert errors_of(agreement)["end_year"] == ["Năm kết thúc không được trước năm bắt đầu."]

    def test_due_date_before_start_date_is_reported_on_due_date(self):
        """A task due before it starts is refused on due_date."""
        task = make_task()
        task.start_date = datetime.date(2024, 3, 5)
        task.due_date = datetime.date(2024, 3, 4)
        assert errors_of(task)["due_date"] == ["Hạn xử lý không được trước ngày bắt đầu."]

    def test_progress_over_100_is_reported_on_progress(self):
        """Progress is a percentage: 150 is refused on progress."""
        task = make_task()
        task.progress = 150
        assert errors_of(task)["progress"] == ["Tiến độ phải từ 0 đến 100%."]

    def test_done_task_without_completion_date_is_reported_on_completed_on(self):
        """A task marked done without its completion date is refused on completed_on."""
        task = make_task()
        task.status = TaskStatus.DONE
        assert errors_of(task)["completed_on"] == [
            "Nhiệm vụ đã hoàn thành phải có ngày hoàn thành."
        ]

    def test_resolved_item_without_resolution_date_is_reported_on_resolved_on(self):
        """A resolved follow-up item without its date is refused on resolved_on."""
        followup = make_followup()
        followup.status = FollowUpStatus.RESOLVED
        assert errors_of(followup)["resolved_on"] == [
            "Nội dung đã giải quyết phải có ngày giải quyết."
        ]

    @pytest.mark.parametrize("typed", ["01/qcph-ubnd-mttq", "  01/QCPH-UBND-MTTQ  "])
    def test_duplicate_agreement_number_is_reported_on_number(self, typed):
        """Numbers are unique ignoring case and surrounding spaces."""
        existing = make_agreement(number="01/QCPH-UBND-MTTQ")
        duplicate = Agreement(
            number=typed,
            title=existing.title + " (bản sao)",
            kind=existing.kind,
            start_year=2022,
            end_year=2022,
        )
        assert errors_of(duplicate)["number"] == ["Đã có văn bản phối hợp với số, ký hiệu này."]

    def test_second_signature_of_the_same_person_is_reported_on_person(self):
        """A person signs an agreement once."""
        first = make_signatory()
        again = Signatory(agreement=first.agreement, person=first.person, unit=first.unit)
        assert errors_of(again)["person"] == ["Cán bộ này đã ký văn bản này."]

    @pytest.mark.parametrize("year", [2020, 2027])
    def test_task_year_outside_the_agreement_is_reported_on_year(self, year):
        """A task's year falls within its agreement's years."""
        task = make_task(agreement=make_agreement(start_year=2021, end_year=2026))
        task.year = year
        assert errors_of(task)["year"] == ["Năm phải nằm trong thời hạn của văn bản (2021–2026)."]

    @pytest.mark.parametrize("year", [2020, 2027])
    def test_indicator_year_outside_the_agreement_is_reported_on_year(self, year):
        """An indicator's year falls within its agreement's years."""
        indicator = make_indicator(agreement=make_agreement(start_year=2021, end_year=2026))
        indicator.year = year
        assert errors_of(indicator)["year"] == [
            "Năm phải nằm trong thời hạn của văn bản (2021–2026)."
        ]


class TestValidRecordsPassFullClean:
    def test_task_within_its_agreement_years_is_valid(self):
        """The boundary years of the agreement are accepted."""
        agreement = make_agreement(start_year=2021, end_year=2026)
        for year in (2021, 2026):
            make_task(agreement=agreement, year=year, start_date=None, due_date=None).full_clean()

    def test_done_task_with_completion_date_is_valid(self):
        """Status done plus a completion date passes every rule."""
        task = make_task(status=TaskStatus.DONE, completed_on=datetime.date(2024, 5, 1))
        task.progress = 100
        task.full_clean()

    def test_editing_an_agreement_does_not_clash_with_its_own_number(self):
        """The uniqueness check excludes the record being edited."""
        agreement = make_agreement(number="02/QCPH")
        agreement.number = "02/qcph"
        agreement.full_clean()

    def test_unit_name_clash_is_reported_on_full_name(self):
        """A second unit of the same name in the locality is refused on full_name."""
        make_unit(full_name="Hội Liên hiệp Phụ nữ huyện", locality="huyện Hàm Tân")
        clash = Unit(
            full_name="HỘI LIÊN HIỆP PHỤ NỮ HUYỆN",
            kind="socio_political",
            level="district",
            locality="huyện Hàm Tân",
        )
        assert "full_name" in errors_of(clash)


# ---------------------------------------------------------------------------
# Clean text on every write path
# ---------------------------------------------------------------------------

# Single-line: NBSP, zero-width space, a newline, a tab and surrounding blanks.
MESSY_TITLE = "  Hội\u00a0nghị   tổng kết\u200b\nnăm\t2023  "
CLEAN_TITLE = "Hội nghị tổng kết năm 2023"
# Multi-line: CRLF, trailing blanks, a run of blank lines, NBSP runs, a BOM.
MESSY_CONCLUSIONS = "\ufeff  Kết luận một.  \r\n\r\n\r\n\r\n   Kết\u00a0\u00a0luận   hai\u200b \n"
CLEAN_CONCLUSIONS = "Kết luận một.\n\nKết luận hai"
# "Nguyễn" typed in decomposed form (NFD), as some keyboards and PDFs produce it.
NFD_VENUE = "Nhà văn hóa thôn Nguye\u0302\u0303n"
NFC_VENUE = unicodedata.normalize("NFC", NFD_VENUE)

MESSY = {"title": MESSY_TITLE, "conclusions": MESSY_CONCLUSIONS, "venue": NFD_VENUE}


def new_meeting(**fields) -> Meeting:
    defaults = {"kind": "assessment", "held_on": datetime.date(2024, 3, 13)}
    return Meeting(**defaults, **fields)


def write_with_save():
    return Meeting.objects.create(kind="assessment", held_on=datetime.date(2024, 3, 13), **MESSY)


def write_with_bulk_create():
    (meeting,) = Meeting.objects.bulk_create([new_meeting(**MESSY)])
    return meeting


def write_with_bulk_update():
    meeting = Meeting.objects.create(kind="assessment", held_on=datetime.date(2024, 3, 13))
    for name, value in MESSY.items():
        setattr(meeting, name, value)
    Meeting.objects.bulk_update([meeting], list(MESSY))
    return meeting


def write_with_queryset_update():
    meeting = Meeting.objects.create(kind="assessment", held_on=datetime.date(2024, 3, 13))
    Meeting.objects.filter(pk=meeting.pk).update(**MESSY)
    return meeting


def write_with_full_clean_then_save():
    meeting = new_meeting(**MESSY)
    meeting.full_clean()
    # full_clean() alone brings the instance into its stored form.
    assert (meeting.title, meeting.conclusions, meeting.venue) == (
        CLEAN_TITLE,
        CLEAN_CONCLUSIONS,
        NFC_VENUE,
    )
    meeting.save()
    return meeting


WRITE_PATHS = [
    write_with_save,
    write_with_full_clean_then_save,
    write_with_bulk_create,
    write_with_bulk_update,
    write_with_queryset_update,
]


@pytest.mark.parametrize("write", WRITE_PATHS, ids=[w.__name__ for w in WRITE_PATHS])
def test_text_is_stored_clean_whatever_the_write_path(write):
    """Trimmed, white space collapsed, invisible characters gone, NFC, line breaks kept."""
    meeting = write()
    stored = Meeting.objects.values("title", "conclusions", "venue").get(pk=meeting.pk)
    assert stored == {"title": CLEAN_TITLE, "conclusions": CLEAN_CONCLUSIONS, "venue": NFC_VENUE}
    assert unicodedata.is_normalized("NFC", stored["venue"])


def test_nfd_name_is_stored_in_nfc_and_found_by_its_nfc_spelling():
    """A name typed in NFD matches the same name typed in NFC."""
    make_person(full_name="Nguye\u0302\u0303n Duy Chie\u0302n")
    assert Person.objects.filter(full_name="Nguyễn Duy Chiên").exists()


def test_single_line_text_loses_line_breaks_and_choice_fields_are_left_alone():
    """A unit name pasted over two lines is stored on one line."""
    unit = make_unit(full_name="Ủy ban nhân dân\r\n  huyện Hàm Tân ")
    unit.refresh_from_db()
    assert unit.full_name == "Ủy ban nhân dân huyện Hàm Tân"
    assert unit.kind == "peoples_committee"


def test_update_leaves_non_text_values_alone():
    """update() cleans strings only: numbers and expressions pass through."""
    task = make_task(content="Nội dung")
    Task.objects.filter(pk=task.pk).update(
        progress=F("progress") + 10, content=Concat(F("content"), Value(" bổ sung"))
    )
    task.refresh_from_db()
    assert (task.progress, task.content) == (10, "Nội dung bổ sung")


# ---------------------------------------------------------------------------
# Signatories keep the position held on the signing day
# ---------------------------------------------------------------------------


class TestSignatorySnapshot:
    def test_empty_position_and_date_are_copied_from_person_and_agreement(self):
        """Left empty, the position and the signing date are filled in."""
        person = make_person(position="Phó Bí thư Huyện ủy, Chủ tịch UBND huyện")
        agreement = make_agreement(signed_on=datetime.date(2021, 8, 10))
        signatory = make_signatory(agreement=agreement, person=person)
        signatory.refresh_from_db()
        assert signatory.position == "Phó Bí thư Huyện ủy, Chủ tịch UBND huyện"
        assert signatory.signed_on == datetime.date(2021, 8, 10)

    def test_position_at_signing_survives_a_later_change_of_post(self):
        """The person moves on; the signature keeps the old position, even when re-saved."""
        person = make_person(position="Chủ tịch UBND huyện")
        signatory = make_signatory(person=person)
        person.position = "Bí thư Huyện ủy"
        person.save()
        signatory.refresh_from_db()
        signatory.save()
        signatory.refresh_from_db()
        assert signatory.position == "Chủ tịch UBND huyện"
        assert str(person).endswith("(Bí thư Huyện ủy)")

    def test_given_position_and_date_are_kept(self):
        """An explicit position and date win over the copies."""
        signatory = make_signatory(
            person=make_person(position="Chủ tịch UBND tỉnh"),
            position="Phó Chủ tịch UBND tỉnh",
            signed_on=datetime.date(2018, 3, 1),
        )
        signatory.refresh_from_db()
        assert signatory.position == "Phó Chủ tịch UBND tỉnh"
        assert signatory.signed_on == datetime.date(2018, 3, 1)

    def test_bulk_created_signatories_copy_the_snapshot_too(self):
        """bulk_create fills in position and date like save()."""
        person = make_person(position="Chủ tịch UBMTTQVN huyện")
        agreement = make_agreement(signed_on=datetime.date(2022, 3, 30))
        Signatory.objects.bulk_create(
            [Signatory(agreement=agreement, person=person, unit=person.unit)]
        )
        stored = Signatory.objects.get(agreement=agreement)
        assert (stored.position, stored.signed_on) == (
            "Chủ tịch UBMTTQVN huyện",
            datetime.date(2022, 3, 30),
        )


# ---------------------------------------------------------------------------
# Outstanding and overdue, derived around today
# ---------------------------------------------------------------------------


@pytest.fixture
def tasks():
    """One task per situation around today."""
    return {
        "due_yesterday": make_task(due_date=days(-1)),
        "due_last_month_in_progress": make_task(
            due_date=days(-30), status=TaskStatus.IN_PROGRESS, progress=50
        ),
        "due_today": make_task(due_date=today()),
        "due_tomorrow": make_task(due_date=days(1)),
        "no_due_date": make_task(due_date=None),
        "done_late": make_task(due_date=days(-10), status=TaskStatus.DONE, completed_on=days(-2)),
        "cancelled": make_task(due_date=days(-10), status=TaskStatus.CANCELLED),
    }


@pytest.fixture
def followups():
    """One follow-up item per situation around today."""
    return {
        "due_yesterday": make_followup(due_date=days(-1)),
        "due_last_month_in_progress": make_followup(
            due_date=days(-30), status=FollowUpStatus.IN_PROGRESS
        ),
        "due_today": make_followup(due_date=today()),
        "due_tomorrow": make_followup(due_date=days(1)),
        "no_due_date": make_followup(due_date=None),
        "resolved": make_followup(
            due_date=days(-10), status=FollowUpStatus.RESOLVED, resolved_on=days(-2)
        ),
        "closed": make_followup(due_date=days(-10), status=FollowUpStatus.CLOSED),
        "carried_over": make_followup(due_date=days(-10), status=FollowUpStatus.CARRIED_OVER),
    }


def keys(records: dict, queryset) -> set[str]:
    pks = set(queryset.values_list("pk", flat=True))
    return {key for key, record in records.items() if record.pk in pks}


class TestTaskDeadlines:
    def test_outstanding_tasks_are_those_not_done_or_cancelled(self, tasks):
        """Whatever the deadline, done and cancelled tasks are not outstanding."""
        assert keys(tasks, Task.objects.outstanding()) == {
            "due_yesterday",
            "due_last_month_in_progress",
            "due_today",
            "due_tomorrow",
            "no_due_date",
        }

    def test_overdue_tasks_are_outstanding_and_due_before_today(self, tasks):
        """Due yesterday is overdue; due today, tomorrow or never is not."""
        assert keys(tasks, Task.objects.overdue()) == {
            "due_yesterday",
            "due_last_month_in_progress",
        }

    def test_overdue_accepts_another_day_as_today(self, tasks):
        """overdue(today=...) measures against the given day."""
        assert keys(tasks, Task.objects.overdue(today=days(2))) == {
            "due_yesterday",
            "due_last_month_in_progress",
            "due_today",
            "due_tomorrow",
        }

    def test_is_outstanding_agrees_with_the_queryset(self, tasks):
        """The property and outstanding() never disagree."""
        outstanding = keys(tasks, Task.objects.outstanding())
        assert {key for key, task in tasks.items() if task.is_outstanding} == outstanding

    def test_days_overdue_counts_days_past_the_due_date(self, tasks):
        """Only overdue tasks have days overdue."""
        assert {key: task.days_overdue() for key, task in tasks.items()} == {
            "due_yesterday": 1,
            "due_last_month_in_progress": 30,
            "due_today": 0,
            "due_tomorrow": 0,
            "no_due_date": 0,
            "done_late": 0,
            "cancelled": 0,
        }

    def test_days_overdue_accepts_another_day_as_today(self, tasks):
        """days_overdue(today=...) counts up to the given day."""
        assert tasks["due_tomorrow"].days_overdue(today=days(5)) == 4


class TestFollowUpDeadlines:
    def test_outstanding_items_are_open_or_in_progress(self, followups):
        """Resolved, closed and carried-over items are not outstanding."""
        assert keys(followups, FollowUp.objects.outstanding()) == {
            "due_yesterday",
            "due_last_month_in_progress",
            "due_today",
            "due_tomorrow",
            "no_due_date",
        }

    def test_overdue_items_are_outstanding_and_due_before_today(self, followups):
        """Due yesterday is overdue; due today, tomorrow or never is not."""
        assert keys(followups, FollowUp.objects.overdue()) == {
            "due_yesterday",
            "due_last_month_in_progress",
        }

    def test_days_overdue_counts_days_past_the_due_date(self, followups):
        """Only overdue items have days overdue."""
        overdue = {key: item.days_overdue() for key, item in followups.items()}
        assert overdue == {
            "due_yesterday": 1,
            "due_last_month_in_progress": 30,
            "due_today": 0,
            "due_tomorrow": 0,
            "no_due_date": 0,
            "resolved": 0,
            "closed": 0,
            "carried_over": 0,
        }

    def test_is_outstanding_agrees_with_the_queryset(self, followups):
        """The property and outstanding() never disagree."""
        outstanding = keys(followups, FollowUp.objects.outstanding())
        assert {key for key, item in followups.items() if item.is_outstanding} == outstanding


# ---------------------------------------------------------------------------
# Indicators, agreements by year, tasks by unit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparison", "target", "actual", "met"),
    [
        (IndicatorComparison.AT_LEAST, "98", "99.5", True),
        (IndicatorComparison.AT_LEAST, "98", "98", True),
        (IndicatorComparison.AT_LEAST, "98", "97.99", False),
        (IndicatorComparison.AT_MOST, "5", "3", True),
        (IndicatorComparison.AT_MOST, "5", "5", True),
        (IndicatorComparison.AT_MOST, "5", "6", False),
        (IndicatorComparison.AT_LEAST, "253", None, None),
        (IndicatorComparison.AT_MOST, "5", None, None),
    ],
)
def test_indicator_is_met_compares_actual_with_target(comparison, target, actual, met):
    """at_least needs actual ≥ target, at_most actual ≤ target; nothing reported → None."""
    indicator = make_indicator(
        comparison=comparison,
        target=Decimal(target),
        actual=None if actual is None else Decimal(actual),
    )
    indicator = Indicator.objects.get(pk=indicator.pk)
    assert indicator.is_met is met


def test_agreements_in_year_are_those_whose_span_covers_it():
    """in_year(y) keeps agreements with start_year ≤ y ≤ end_year."""
    term_2016 = make_agreement(start_year=2016, end_year=2021)
    term_2021 = make_agreement(start_year=2021, end_year=2026)
    programme_2022 = make_agreement(start_year=2022, end_year=2022)
    in_year = {
        year: set(Agreement.objects.in_year(year)) for year in (2015, 2016, 2021, 2022, 2027)
    }
    assert in_year == {
        2015: set(),
        2016: {term_2016},
        2021: {term_2016, term_2021},
        2022: {term_2021, programme_2022},
        2027: set(),
    }


def test_tasks_for_unit_are_those_it_leads_or_coordinates():
    """for_unit() finds led and coordinated tasks, each once, and nothing else."""
    unit, other = make_unit(), make_unit()
    led = make_task(lead_unit=unit, coordinating_units=[other])
    coordinated = make_task(lead_unit=other, coordinating_units=[unit, make_unit()])
    both = make_task(lead_unit=unit, coordinating_units=[unit])
    make_task(lead_unit=other, coordinating_units=[make_unit()])
    found = list(Task.objects.for_unit(unit))
    assert sorted(task.pk for task in found) == sorted([led.pk, coordinated.pk, both.pk])


def test_str_of_long_content_is_shortened():
    """Lists show at most 80 characters of a task or item."""
    task = make_task(content="Nhiệm vụ " * 20)
    item = make_followup(content="Kiến nghị", kind=FollowUpKind.VOTER_PETITION)
    assert len(str(task)) == 80
    assert str(task).endswith("…")
    assert str(item) == "Kiến nghị"
