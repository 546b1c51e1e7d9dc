"""The WSGI application (gunicorn ``portal.wsgi:application``).

It refuses to load without DATABASE_URL / REDIS_URL outside development, with a message naming them
(``portal/checks.py``), rather than fail on the first request.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = get_wsgi_application()

from portal.checks import require_services  # noqa: E402  (needs the apps loaded above)

require_services()
