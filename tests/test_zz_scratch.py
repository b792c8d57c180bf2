import io
import pytest
import openpyxl
from coordination.importing import import_records
from coordination.exporting import write_export
from coordination.resources import RESOURCES
pytestmark = pytest.mark.django_db

@pytest.mark.parametrize("kind", list(RESOURCES))
def test_rt(world, kind):
    model = RESOURCES[kind]._meta.model
    out = io.BytesIO()
    write_export(kind, model.objects.all(), out, "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    ws = wb.active
    for row in ws.iter_rows(values_only=True):
        print(row)
    r = import_records(kind=kind, data=out.getvalue(), file_name="x.xlsx", dry_run=True)
    print(r.summary_line(), r.file_errors, r.warnings, [(p.row, p.column, p.value, p.message) for p in r.problems])
    out = io.BytesIO()
    write_export(kind, model.objects.all(), out, "csv")
    print(out.getvalue().decode())
    r = import_records(kind=kind, data=out.getvalue(), file_name="x.csv", dry_run=True)
    print(r.summary_line(), r.file_errors, r.warnings, [(p.row, p.column, p.value, p.message) for p in r.problems])
