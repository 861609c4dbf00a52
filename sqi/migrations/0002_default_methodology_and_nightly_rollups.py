"""Store SQI-2022 (sqi/data/sqi_methodology.json) as the default methodology, and schedule
the nightly statistics rollups with django-celery-beat (02:30 Asia/Shanghai)."""

import json
from pathlib import Path

from django.db import migrations

METHODOLOGY_FILE = Path(__file__).resolve().parent.parent / "data" / "sqi_methodology.json"
TASK_NAME = "sqi: nightly complaint and claim statistics rollups"


def load_default(apps, schema_editor):
    Methodology = apps.get_model("sqi", "Methodology")
    data = json.loads(METHODOLOGY_FILE.read_text(encoding="utf-8"))
    Methodology.objects.update_or_create(
        version=data["version"],
        defaults={
            "title": "保险服务质量指数 SQI-2022",
            "scoring": data["scoring"],
            "scoring_floor": data.get("scoring_floor", 50),
            "weighting": data["weighting"],
            "indicators": data["indicators"],
            "dimensions": data["dimensions"],
            "weights": data["weights"],
            "is_default": True,
        },
    )


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={"task": "sqi.tasks.rollup_recent_periods", "crontab": crontab, "enabled": True},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sqi", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(load_default, migrations.RunPython.noop),
        migrations.RunPython(schedule, unschedule),
    ]
