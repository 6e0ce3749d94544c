from __future__ import annotations

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.production")

application = get_wsgi_application()

# Servers do not run system checks; production must not serve a request on a development default.
if settings.AGORA_REFUSE_DEVELOPMENT_DEFAULTS:
    from core.checks import refuse_development_defaults

    refuse_development_defaults()
