"""System check: the embedded servers the settings point at are running, so a command that needs them
(``runserver``, ``migrate``, ``seed_demo`` …) stops with the way to start them instead of a socket error."""

from django.core import checks

from portal.dev import embedded


@checks.register("services")
def embedded_servers_started(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    missing = embedded.not_started()
    if not missing:
        return []
    return [checks.Error(embedded.not_started_message(missing), id="dev.E001")]
