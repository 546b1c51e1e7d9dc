import pytest

from policies.roles import EDITOR, REVIEWER
from tests.factories import UserFactory


@pytest.fixture
def editor(db):
    return UserFactory(username="editor", role=EDITOR)


@pytest.fixture
def reviewer(db):
    return UserFactory(username="reviewer", role=REVIEWER)
