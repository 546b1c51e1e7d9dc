import pytest


@pytest.fixture(autouse=True)
def daytime(settings):
    """Push tests send at any hour; the quiet-hours tests switch them back on with a frozen clock."""
    settings.SMS_QUIET_HOURS = ()
