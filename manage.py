#!/usr/bin/env python
from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # Django would swallow a settings error here and fail later with an unrelated one
    # ("Models aren't loaded yet"): stop now, with the message that names the variable.
    settings.INSTALLED_APPS  # noqa: B018

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
