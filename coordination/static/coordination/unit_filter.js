'use strict';
// The admin list's unit filter (admin/coordination/unit_filter.html): choosing a unit in the
// type-ahead box, or clearing it, reloads the list with the other filters kept.
{
    const $ = django.jQuery;
    $(function() {
        $('form.unit-filter select').on('change', function() {
            this.form.submit();
        });
    });
}
