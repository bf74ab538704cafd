from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from monitoring.store.retention import prune


class Command(BaseCommand):
    help = "Apply data retention: drop old daily partitions of raw data, delete old rollups."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(prune(now=timezone.now()).as_dict(), indent=2))
