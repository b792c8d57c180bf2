"""What every record's admin shares: scope, search, choices, conflict checks and history.

`RecordAdmin` reads the kind of its model from the registry (`coordination.kinds`): the list
query, the FilterSet behind the list's filters and search box, and the change form's sections.
"""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.views.main import ORDER_VAR
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.forms.models import _get_foreign_key
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from coordination import kinds, scoping
from coordination.admin.filters import filterset_filter
from coordination.admin.inline_choices import PreloadedAutocompleteSelect, PreloadedChoicesFormSet
from coordination.collation import vietnamese
from coordination.concurrency import VERSION_FIELD, VersionedForm
from coordination.filters import (
    check_value,
    search_records,
)
from coordination.history import CHANGED, CREATED, record_history
from coordination.models import Unit
from coordination.pagination import SORTED_DEPTH, DeferredJoinPaginator
from coordination.registry import RECORD_FIELDS
from coordination.tables import unit_name
from coordination.text import fold


class FoldedSearchMixin:
    """Search ignoring case and diacritics: search_fields use `__fold__contains` lookups.

    An admin whose list has a FilterSet searches as its `q` does (`search_records`), so that
    the admin's search box and the /records/ pages find the same rows, as fast.
    """

    #: The FilterSet whose `search_fields` the search box uses, if any.
    search_filterset = None

    def get_search_results(self, request, queryset, search_term):
        if self.search_filterset is not None:
            if not search_term.strip():
                return queryset, False
            fields = self.search_filterset.search_fields
            return search_records(queryset, fields, search_term), False
        return super().get_search_results(request, queryset, fold(search_term))


class LongTextMixin:
    """One-line texts long enough to wrap (an agreement's trích yếu, a meeting's title, an
    indicator) are edited in a two-line text area that shows them whole."""

    LONG_TEXT = 300

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        long_text = (db_field.max_length or 0) >= self.LONG_TEXT and not db_field.choices
        one_line = isinstance(db_field, models.CharField) and not isinstance(
            db_field, models.URLField
        )
        if one_line and long_text:
            kwargs["widget"] = AdminTextareaWidget(attrs={"rows": 2})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ScopedChoicesMixin:
    """Unit staff pick only their own units as owners, and only records they may see."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = scoping.reference_choices(self.model, db_field, request.user)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        choices = scoping.reference_choices(self.model, db_field, request.user)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class RecordAdmin(FoldedSearchMixin, LongTextMixin, ScopedChoicesMixin, admin.ModelAdmin):
    """Defaults for every coordination admin, and unit staff's scope on every page."""

    #: Reference data every user may look up (names of units and people) in autocomplete.
    autocomplete_unscoped = False

    # Saving refuses to overwrite a change somebody made after the page was opened.
    form = VersionedForm
    # The full count is a second COUNT(*) over the whole table on every page.
    show_full_result_count = False
    # A deep page skips ids, not joined rows (coordination.pagination).
    paginator = DeferredJoinPaginator
    list_per_page = 50
    readonly_fields = ["created_at", "updated_at"]
    # A link typed without a scheme is taken as https:// (Django 6's default, without warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @property
    def media(self):
        """Django's, the project's style sheet, and select2 with Django's autocomplete for the
        type-ahead unit filter of the lists (`filters.UnitLinks`), in Django's own order."""
        suffix = "" if settings.DEBUG else ".min"
        return super().media + forms.Media(
            js=[
                f"admin/js/vendor/jquery/jquery{suffix}.js",
                f"admin/js/vendor/select2/select2.full{suffix}.js",
                "admin/js/vendor/select2/i18n/vi.js",
                "admin/js/jquery.init.js",
                "admin/js/autocomplete.js",
                "coordination/unit_filter.js",
            ],
            css={
                "screen": [
                    f"admin/css/vendor/select2/select2{suffix}.css",
                    "admin/css/autocomplete.css",
                ],
                "all": ["coordination/admin.css"],
            },
        )

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        # In an order the user chose (`o`), deep pages are bounded (`pagination.SORTED_DEPTH`).
        sorted_by_user = bool(request.GET.get(ORDER_VAR))
        return self.paginator(
            queryset,
            per_page,
            orphans,
            allow_empty_first_page,
            max_depth=SORTED_DEPTH if sorted_by_user else None,
        )

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        kind = kinds.for_model(model)
        if kind is not None and kind.filterset is not None:
            # The list takes the kind's filters and searches as its `q` does.
            self.search_filterset = kind.filterset
            self.search_fields = [
                f"{name}__fold__contains" for name in kind.filterset.search_fields
            ]
            self.list_filter = [filterset_filter(kind.filterset), *self.list_filter]
        if kind is not None and not (self.fieldsets or self.fields):
            # The change form shows the kind's sections, then when the record changed.
            self.fieldsets = [
                *((title, {"fields": list(names)}) for title, names in kind.sections),
                (_("Record"), {"fields": list(RECORD_FIELDS), "classes": ["collapse"]}),
            ]

    def get_queryset(self, request):
        kind = kinds.for_model(self.model)
        if kind is not None and kind.selector is not None:
            queryset = kind.selector()  # the list's joins
        else:
            queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if self.autocomplete_unscoped and match and match.url_name == "autocomplete":
            return queryset
        # Unit staff reach only the records involving their units, by any admin URL.
        return scoping.visible_to(queryset, request.user)

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or self.in_scope(request, obj, scoping.may_view))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.in_scope(request, obj, scoping.may_change))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.in_scope(request, obj, scoping.may_change))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            # A page that opens read-only says why (the rule is scoping's).
            context["read_only_reason"] = scoping.read_only_reason(request.user, obj)
        if obj is not None:
            context["large_inlines"] = self.large_inlines(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    #: An inline set of more rows than this is not drawn on the change page (a province's
    #: programme has hundreds of tasks: a page of megabytes, seconds to draw); a link to the
    #: list of those rows, and one to add a row, take its place.
    inline_rows_at_most = 30

    def get_inlines(self, request, obj):
        inlines = super().get_inlines(request, obj)
        if obj is None:
            return inlines
        large = {entry.inline for entry in self.large_inlines(request, obj)}
        return [inline for inline in inlines if inline not in large]

    def large_inlines(self, request, obj) -> list["LargeInline"]:
        """The inline sets of `obj` too long to draw, with their links: one COUNT each,
        asked once per request."""
        cache = request.__dict__.setdefault("_coordination_large_inlines", {})
        key = (type(self), obj.pk)
        if key not in cache:
            cache[key] = [
                entry
                for inline in super().get_inlines(request, obj)
                if (entry := LargeInline.of(inline, self, request, obj)) is not None
            ]
        return cache[key]

    @staticmethod
    def in_scope(request, obj, check) -> bool:
        """`check(user, obj)`, asked once per request: a change page asks several times."""
        cache = request.__dict__.setdefault("_coordination_scope", {})
        key = (check.__name__, type(obj), obj.pk)
        if key not in cache:
            cache[key] = check(request.user, obj)
        return cache[key]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            keep_current_choices(form, obj, request.user)
        if getattr(request, "_coordination_revert", False):
            form.check_version = False  # a revert writes an old version on purpose
        return form

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or VERSION_FIELD in flatten_fieldsets(fieldsets):
            return fieldsets
        # A read-only page has no form to check: the version would show as a row "Version".
        if not self.has_change_permission(request, obj):
            return fieldsets
        # The hidden version of the record the page shows rides with its first fieldset.
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": [*options["fields"], VERSION_FIELD]}), *rest]


def keep_current_choices(form_class, obj, user):
    """A record already linked stays a valid choice of `obj`'s form: saving the record
    unchanged must not fail because the user may not see what it points to."""
    for name, form_field in form_class.base_fields.items():
        try:
            db_field = obj._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        # An owning unit is never kept: the user may only change records their units own.
        if not db_field.is_relation or db_field.related_model is Unit:
            continue
        if not hasattr(form_field, "queryset"):
            continue
        if scoping.reference_choices(type(obj), db_field, user) is None:
            continue
        if db_field.many_to_many:
            current = getattr(obj, name).values("pk")
        else:
            current = [getattr(obj, db_field.attname)]
        form_field.queryset = form_field.queryset | db_field.related_model._default_manager.filter(
            pk__in=current
        )


@dataclass(frozen=True)
class LargeInline:
    """An inline set too long for the change page: its title, its count, its list's link
    (the rows of the record, in the list's own filters) and the add page's, when allowed."""

    inline: type
    title: str
    count: int
    list_url: str | None
    add_url: str | None

    @classmethod
    def of(cls, inline_class, model_admin, request, obj) -> "LargeInline | None":
        inline = inline_class(model_admin.model, model_admin.admin_site)
        fk = _get_foreign_key(model_admin.model, inline.model, fk_name=inline.fk_name)
        count = inline.get_queryset(request).filter(**{fk.name: obj.pk}).count()
        if count <= model_admin.inline_rows_at_most:
            return None
        if request.method == "POST":
            # Posted from a page that drew the set (it grew since): its rows are saved.
            prefix = inline.get_formset(request, obj).get_default_prefix()
            if f"{prefix}-TOTAL_FORMS" in request.POST:
                return None
        opts = inline.model._meta
        related_admin = model_admin.admin_site._registry.get(inline.model)
        params = urlencode({fk.name: obj.pk})
        list_url = add_url = None
        if related_admin is not None and related_admin.has_view_or_change_permission(request):
            list_url = f"{reverse(f'admin:{opts.app_label}_{opts.model_name}_changelist')}?{params}"
        if related_admin is not None and related_admin.has_add_permission(request):
            add_url = f"{reverse(f'admin:{opts.app_label}_{opts.model_name}_add')}?{params}"
        return cls(inline_class, str(opts.verbose_name_plural), count, list_url, add_url)


class ScopedInline(LongTextMixin, ScopedChoicesMixin, admin.TabularInline):
    """An inline list of a record's parts that shows unit staff only what they may see."""

    # The rows' type-ahead boxes read their chosen records together, not one query a row.
    formset = PreloadedChoicesFormSet

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = PreloadedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if kinds.for_model(self.model) is not None:
            queryset = scoping.visible_to(queryset, request.user)
        # A read-only row names its unit or person, and its __str__ does: one query a row
        # without the join (39 on an agreement's page with 30 indicators).
        related = [
            field.name
            for field in self.model._meta.concrete_fields
            if field.many_to_one and (not self.fields or field.name in self.fields)
        ]
        return queryset.select_related(*related)


class HistoryAdmin(SimpleHistoryAdmin):
    """simple-history's pages, where posting an old version's form ("revert") is a change.

    A save writes one history entry, once the related sets (coordinating units, parties)
    are saved too: simple-history alone would write one on save() with the old sets, then
    one more for each set the form changes.
    """

    # The authors by name, in the Vietnamese order (coordination.text.person_name).
    object_history_list_template = "admin/coordination/object_history_list.html"

    def save_model(self, request, obj, form, change):
        obj.skip_history_when_saving = True
        super().save_model(request, obj, form, change)

    def log_addition(self, request, obj, message):
        self.record_saved(request, obj, CREATED)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self.record_saved(request, obj, CHANGED)
        return super().log_change(request, obj, message)

    @staticmethod
    def record_saved(request, obj, history_type):
        # Django calls log_addition/log_change after save_related on every path that saves
        # a form: the change form, list_editable and simple-history's revert.
        if getattr(obj, "skip_history_when_saving", False):
            del obj.skip_history_when_saving
            record_history(type(obj), [obj.pk], history_type=history_type, user=request.user)

    # simple-history finds a record in its history: another unit's record would be refused
    # (403) where a missing one is not found, telling unit staff which numbers exist. Both
    # pages answer for a record the user may not see as the change page does: it does not
    # exist (the same redirect and message), whatever the ids in the URL.

    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        request._coordination_revert = True
        record = self.get_object(request, unquote(object_id))
        if record is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        # simple-history checks only the view permission before saving the posted version.
        if request.method == "POST" and not self.has_change_permission(request, record):
            raise PermissionDenied
        try:
            check_value(version_id, self.model.history.model._meta.pk)
        except ValidationError:
            raise Http404 from None
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.display(description=_("days overdue"), empty_value="")
def days_overdue(obj):
    """Blank, not Django's red “-”, for a record that is not overdue (a closed one)."""
    return obj.days_overdue() or ""


def unit_column(field: str, description) -> Callable:
    """A list column naming the unit in `field` short and unambiguous (`tables.unit_name`:
    “UBND huyện Hàm Tân”), sorted by its full name in Vietnamese order; its cells keep the
    class `field-<field>` of the admin's own column."""

    def column(obj):
        return unit_name(getattr(obj, field))

    column.__name__ = field
    ordering = vietnamese(f"{field}__full_name")
    return admin.display(description=description, ordering=ordering)(column)
