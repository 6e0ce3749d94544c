from __future__ import annotations

import os

import django
from django.conf import settings

from core.wsgi import AgoraWSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.production")

# django.core.wsgi.get_wsgi_application, with the site's handler (API-key calls to the inference
# gateway skip the browser-only middleware: core/wsgi.py).
django.setup(set_prefix=False)

application = AgoraWSGIHandler()

# Servers do not run system checks; production must not serve a request on a development default.
if settings.AGORA_REFUSE_DEVELOPMENT_DEFAULTS:
    from core.checks import refuse_development_defaults

    refuse_development_defaults()
