"""Spreadsheet mappings: the base of each kind's Vietnamese columns, for import and export.

Each kind's `<Model>Resource` (in `coordination/kinds/`) declares its `Column`s; the file shows
them in the model's field order, then the columns that are not model fields (an agreement's
parties by role), with the record number first and the version last. A column's
header is the Vietnamese label of its model field (or `header=`); on import, headers are
matched ignoring case, diacritics, spacing and punctuation, and `aliases` name the variants
offices commonly use. `Meta.import_id_fields` is the natural key an import upserts on when a
row has no "Mã" (record number).
"""

from dataclasses import dataclass

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.declarative import ModelDeclarativeMetaclass

from coordination.models.base import YEAR_MAX, YEAR_MIN
from coordination.widgets import (
    ManyWidget,
    RecordIdWidget,
    TextWidget,
    VersionWidget,
)

YEAR = {"minimum": YEAR_MIN, "maximum": YEAR_MAX}


@dataclass(frozen=True)
class Link:
    """Where a many-valued column lives when it is not a many-to-many field: rows of a link
    table (`model`) from the record (`owner`) to the named records (`target`) that match
    `where` — an agreement's lead units and other parties share `AgreementParty`, by role."""

    model: type
    owner: str
    target: str
    where: dict

    @property
    def target_model(self):
        return self.model._meta.get_field(self.target).related_model


class Column(fields.Field):
    """One spreadsheet column bound to a model attribute."""

    def __init__(
        self,
        attribute: str,
        widget,
        *,
        header=None,
        required: bool = False,
        aliases: tuple[str, ...] = (),
        help_text=None,
        link: Link | None = None,
        readonly: bool = False,
    ):
        """`readonly`: a value the system computes, written by the export and never read by
        an import (its header is known, its cells are not read)."""
        super().__init__(attribute=attribute, column_name=header, widget=widget, readonly=readonly)
        # import-export sets column_name to the attribute name; the header is kept apart.
        self.header = header
        self.required = required
        self.aliases = aliases
        self.help_text = help_text
        self.link = link

    @property
    def is_many(self) -> bool:
        return isinstance(self.widget, ManyWidget)


#: What the template writes in its example row's record number cell: an import refuses the
#: row, so the example cannot be imported by accident.
EXAMPLE_MARKER = _("EXAMPLE")


class ColumnsMetaclass(ModelDeclarativeMetaclass):
    """The declared `Column`s are the file's columns: `Meta.fields` is made from them, so a
    column is declared once."""

    def __new__(mcs, name, bases, attrs):
        meta = attrs.get("Meta")
        if meta is not None and getattr(meta, "model", None) is not None:
            inherited = [name for base in bases for name in getattr(base, "fields", {})]
            own = [name for name, value in attrs.items() if isinstance(value, fields.Field)]
            meta.fields = [*inherited, *own]
        return super().__new__(mcs, name, bases, attrs)


class RecordResource(resources.ModelResource, metaclass=ColumnsMetaclass):
    """Base of the coordination resources; see the module docstring."""

    id = Column(
        "id",
        RecordIdWidget(),
        header=_("Record no."),
        aliases=("Ma", "ID", "Mã số", "Mã bản ghi"),
        help_text=_(
            "The system's number of the record, filled in by the export. Leave it empty for "
            "new rows; keep it to update the record it names."
        ),
    )

    updated_at = Column(
        "updated_at",
        VersionWidget(),
        header=_("Version"),
        aliases=("Phien ban", "Version", "Cập nhật lúc"),
        help_text=_(
            "Filled in by the export: when the record was last changed. Do not edit it. When "
            "the record has been changed since, the row is refused rather than overwriting "
            "those changes; export again, or empty the cell to overwrite them on purpose."
        ),
    )

    #: The columns holding a path to the owning units when not named after it (scoping).
    unit_columns: dict[str, tuple[str, ...]] = {}
    #: The example row of the downloadable template, by attribute.
    EXAMPLE: dict = {}

    @classmethod
    def row_problems(cls, values: dict) -> list[tuple[str, str]]:
        """Rules across a row's columns: (attribute, message) for each one broken."""
        return []

    class Meta:
        abstract = True

    @classmethod
    def columns(cls) -> list[Column]:
        """The columns in file order, each with its header resolved from the model if unset."""
        result = []
        # The version goes last, out of the way of the columns people read and edit.
        ordered = sorted(cls.fields.values(), key=lambda column: column.attribute == "updated_at")
        for column in ordered:
            if column.header is None:
                model_field = cls._meta.model._meta.get_field(column.attribute)
                column.header = capfirst(model_field.verbose_name)
            column.column_name = column.header
            result.append(column)
        return result


def text(attribute, *, multiline=False, max_length=None, **options):
    return Column(attribute, TextWidget(multiline=multiline, max_length=max_length), **options)


DUE_DATE_ALIASES = (
    "Thời hạn",
    "Hạn hoàn thành",
    "Thời hạn hoàn thành",
    "Thời gian hoàn thành",
    "Hạn giải quyết",
    "Hạn",
    "Deadline",
)
STATUS_ALIASES = ("Tình trạng", "Kết quả thực hiện (trạng thái)", "Tình hình thực hiện")
