"""The main pages as each demo user sees them, at the sizes offices use (issue 15, point 1 and
its "done when"): in Chromium at 1366×768 (the commonest office laptop) and 1920×1080, every
main admin and /records/ page has no sideways scroll, its key columns inside the viewport's
width, and no English interface string.

Screenshots go to $E2E_SCREENSHOTS (default: pytest's temporary folder), named
`layout-<user>-<width>-<page>.png`; `E2E_SCREENSHOTS=docs/screenshots` refreshes the
README's `layout-*` pictures.
"""

import pytest
from django.db.models import Count
from playwright.sync_api import expect

from coordination.models import Agreement, FollowUp, Task
from tests import test_browser
from tests.test_browser import DEMO_PASSWORDS
from tests.test_vietnamese_ui import english_strings

pytestmark = pytest.mark.django_db(transaction=True)

# The browser, the screenshot folder and the demo on a live server, as the other browser tests.
browser, shots, demo = test_browser.browser, test_browser.shots, test_browser.demo

SIZES = [(1366, 768), (1920, 1080)]

#: The key columns of each list: (page, how its header cells are found, the columns' header
#: texts or classes). Admin lists mark each column's header `column-<field>`.
ADMIN_LISTS = {
    "tasks": (
        "/admin/coordination/task/",
        ["due_date", "status", "progress", "days_overdue", "lead_unit"],
    ),
    "followups": (
        "/admin/coordination/followup/",
        ["due_date", "status", "days_overdue", "resolved_on", "responsible_unit"],
    ),
    "agreements": ("/admin/coordination/agreement/", ["period", "status", "party_names"]),
}
RECORDS_LISTS = {
    "records-followups": (
        "/records/followups/",
        ["Hạn xử lý", "Trạng thái", "Số ngày quá hạn", "Đơn vị chịu trách nhiệm"],
    ),
    "records-tasks": ("/records/tasks/", ["Hạn xử lý", "Trạng thái", "Số ngày quá hạn"]),
}


def open_as(browser, server, username, width, height):
    # The office's time zone: Django's date widgets warn when the browser's differs.
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    page = context.new_page()
    page.goto(f"{server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORDS[username])
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{server.url}/admin/")
    return context, page


def check_page(page, width, where):
    """No sideways scroll, no English; returns nothing, asserts."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where}: {scroll_width} px wide in a {width} px window"
    found = english_strings(page.content())
    assert found == [], f"{where} shows English: {found}"


def right_edges(page, selector) -> list[float]:
    return page.eval_on_selector_all(
        selector, "cells => cells.map(cell => cell.getBoundingClientRect().right)"
    )


def agreement_with_most_tasks() -> Agreement:
    return Agreement.objects.annotate(n=Count("tasks")).order_by("-n", "pk").first()


@pytest.mark.parametrize("width, height", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("username", list(DEMO_PASSWORDS))
def test_main_pages_fit_the_screen_in_vietnamese(browser, demo, shots, username, width, height):
    context, page = open_as(browser, demo, username, width, height)
    prefix = f"layout-{username}-{width}"
    try:
        page.screenshot(path=shots / f"{prefix}-admin.png")
        check_page(page, width, f"{username} /admin/")
        for name, (path, columns) in ADMIN_LISTS.items():
            response = page.goto(f"{demo.url}{path}")
            assert response.status == 200, path
            page.screenshot(path=shots / f"{prefix}-{name}.png")
            check_page(page, width, f"{username} {path}")
            if not page.locator("#result_list").count():
                continue  # no row this user may see: nothing to lay out
            for column in columns:
                edges = right_edges(page, f"#result_list th.column-{column}")
                assert edges, f"{path}: no column {column}"
                assert max(edges) <= width, f"{username} {path}: {column} at {edges} px"
        for name, (path, columns) in RECORDS_LISTS.items():
            response = page.goto(f"{demo.url}{path}")
            assert response.status == 200, path
            page.screenshot(path=shots / f"{prefix}-{name}.png")
            check_page(page, width, f"{username} {path}")
            for column in columns:
                header = page.locator("table.records thead th", has_text=column).first
                box = header.bounding_box()
                assert box is not None, f"{path}: no column {column}"
                assert box["x"] + box["width"] <= width, f"{username} {path}: {column} at {box}"
        # The agreement with the most tasks: its change (or, read-only, view) page and its
        # task table inside the window.
        agreement = agreement_with_most_tasks()
        page.goto(f"{demo.url}/admin/coordination/agreement/{agreement.pk}/change/")
        page.screenshot(path=shots / f"{prefix}-agreement.png", full_page=True)
        check_page(page, width, f"{username} agreement {agreement.pk}")
        title = page.locator("[name=title]")
        if title.count():  # editable: the trích yếu shows whole, in a text area
            assert title.evaluate("e => e.tagName") == "TEXTAREA"
        # The /records/ pages of the auditor's day, where this user may open them.
        for name, path in [
            ("my-work", "/records/my-work/"),
            ("outstanding", "/records/outstanding/?year=2026"),
            ("records-agreement", f"/records/agreements/{agreement.pk}/"),
        ]:
            response = page.goto(f"{demo.url}{path}")
            if response.status != 200:
                assert response.status in (403, 404), path
                continue
            page.screenshot(path=shots / f"{prefix}-{name}.png")
            check_page(page, width, f"{username} {path}")
    finally:
        context.close()


def test_closed_rows_show_no_overdue_mark(browser, demo):
    """A finished follow-up item's overdue cell is blank, not Django's red “-”."""
    closed = FollowUp.objects.exclude(status__in=["open", "in_progress"]).first()
    done = Task.objects.filter(status="done").first()
    context, page = open_as(browser, demo, "admin", 1366, 768)
    try:
        for path, record in [
            ("/admin/coordination/followup/", closed),
            ("/admin/coordination/task/", done),
        ]:
            page.goto(f"{demo.url}{path}?year={record.year}")
            row = page.locator("#result_list tbody tr", has=page.locator(f"[value='{record.pk}']"))
            expect(row.locator("td.field-days_overdue")).to_have_text("")
    finally:
        context.close()
