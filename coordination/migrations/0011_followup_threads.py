"""Follow-up items: the item an item repeats (`repeats`), and the thread fields derived from
the items it continues and repeats (the year first raised, the times carried over and
raised), filled for the existing items from their carried-over chains."""

import django.db.models.deletion
from django.db import migrations, models

import coordination.constraints


def fill_threads(apps, schema_editor):
    """Each item's thread from its carried-over chain (no item repeats another yet): every
    item read once, the chains followed in memory, the items carried over written in bulk."""
    FollowUp = apps.get_model("coordination", "FollowUp")
    FollowUp.objects.update(first_raised_year=models.F("year"), times_carried=0, times_raised=1)
    items = {pk: (year, carried) for pk, year, carried in FollowUp.objects.values_list(
        "pk", "year", "carried_over_from"
    )}
    threads = {}  # pk → (first raised year, times carried over)

    def thread(pk):
        chain = []
        while pk is not None and pk not in threads and pk not in chain:
            chain.append(pk)
            pk = items[pk][1]
        first, carried = threads.get(pk, (None, -1))
        for item in reversed(chain):
            year = items[item][0]
            first = year if first is None else min(first, year)
            carried += 1
            threads[item] = (first, carried)
        return threads[chain[0]] if chain else threads[pk]

    changed = []
    for pk, (year, carried_from) in items.items():
        if carried_from is None:
            continue
        first, times = thread(pk)
        changed.append(
            FollowUp(pk=pk, first_raised_year=first, times_carried=times, times_raised=times + 1)
        )
    FollowUp.objects.bulk_update(
        changed, ["first_raised_year", "times_carried", "times_raised"], batch_size=1000
    )


class Migration(migrations.Migration):

    dependencies = [
        ('coordination', '0010_unit_aliases'),
    ]

    operations = [
        migrations.AddField(
            model_name='followup',
            name='first_raised_year',
            field=models.PositiveSmallIntegerField(editable=False, null=True, verbose_name='first raised in'),
        ),
        migrations.AddField(
            model_name='followup',
            name='times_carried',
            field=models.PositiveSmallIntegerField(default=0, editable=False, verbose_name='times carried over'),
        ),
        migrations.AddField(
            model_name='followup',
            name='times_raised',
            field=models.PositiveSmallIntegerField(default=1, editable=False, verbose_name='times raised'),
        ),
        migrations.AddField(
            model_name='followup',
            name='repeats',
            field=models.ForeignKey(blank=True, help_text='An earlier item this one raises again: a voter petition raised again (tái kiến nghị), a limitation that recurs.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='repeated_by', to='coordination.followup', verbose_name='repeats'),
        ),
        migrations.AddField(
            model_name='historicalfollowup',
            name='repeats',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='An earlier item this one raises again: a voter petition raised again (tái kiến nghị), a limitation that recurs.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='coordination.followup', verbose_name='repeats'),
        ),
        migrations.RunPython(fill_threads, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='followup',
            name='first_raised_year',
            field=models.PositiveSmallIntegerField(editable=False, verbose_name='first raised in'),
        ),
        migrations.AddConstraint(
            model_name='followup',
            constraint=coordination.constraints.FieldCheckConstraint(condition=models.Q(('repeats', models.F('pk')), _negated=True), error_field='repeats', name='coordination_followup_not_repeating_itself', violation_error_message='An item cannot repeat itself.'),
        ),
        migrations.AddConstraint(
            model_name='followup',
            constraint=coordination.constraints.FieldCheckConstraint(condition=models.Q(('first_raised_year__lte', models.F('year'))), error_field='year', name='coordination_followup_first_raised_not_after_year', violation_error_message='The year cannot be before the year the item was first raised.'),
        ),
    ]
