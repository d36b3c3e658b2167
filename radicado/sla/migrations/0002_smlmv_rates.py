"""The SMLMV table (T1): Colombian monthly legal minimum wage by year, in COP."""

from decimal import Decimal

from django.db import migrations

RATES = {2024: Decimal("1300000"), 2025: Decimal("1423500"), 2026: Decimal("1750905")}


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    SmlmvRate = apps.get_model("sla", "SmlmvRate")
    for year, value in RATES.items():
        SmlmvRate.objects.update_or_create(year=year, defaults={"value": value})


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
