"""Give every insurer a slug for its public profile address (/insurers/<slug>/)."""

from django.db import migrations, models
from django.utils.text import slugify


def fill_slugs(apps, schema_editor):
    Insurer = apps.get_model("insurers", "Insurer")
    taken: set[str] = set()
    for insurer in Insurer.objects.order_by("pk"):
        base = (
            slugify(insurer.name_en)[:70]
            or slugify(insurer.credit_code or "")[:70]
            or f"insurer-{insurer.pk}"
        )
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        insurer.slug = slug
        insurer.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [("insurers", "0002_credit_code_optional")]

    operations = [
        migrations.AddField(
            model_name="insurer",
            name="slug",
            field=models.SlugField(
                blank=True, db_index=False, default="", max_length=80, verbose_name="slug"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalinsurer",
            name="slug",
            field=models.SlugField(blank=True, default="", max_length=80, verbose_name="slug"),
            preserve_default=False,
        ),
        migrations.RunPython(fill_slugs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="insurer",
            name="slug",
            field=models.SlugField(
                blank=True,
                help_text="Used in public URLs.",
                max_length=80,
                unique=True,
                verbose_name="slug",
            ),
        ),
        migrations.AlterField(
            model_name="historicalinsurer",
            name="slug",
            field=models.SlugField(
                blank=True,
                db_index=True,
                help_text="Used in public URLs.",
                max_length=80,
                verbose_name="slug",
            ),
        ),
    ]
