"""factory_boy factories for the project's models."""

import datetime
import itertools

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from core.models import Region
from enterprises.models import Enterprise
from policies.models import Department, Policy, PolicyLabel
from portal.dev.demo.enterprises import demo_uscc

_seq = itertools.count(10_000_000)


def make_uscc(n: int, region: str = "320214") -> str:
    """A valid USCC, the same for the same ``n``."""
    return demo_uscc(n, region)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-only")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        self.save()


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"无锡市关于支持企业技术改造的若干措施（第{n}号）")
    short_title = "技术改造补助"
    level = Policy.Level.CITY
    summary = "对实施技术改造的规上工业企业，按设备投资的 10% 给予补助，最高 200 万元。"
    status = Policy.Status.DRAFT
    apply_start = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=5))
    apply_end = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=365))

    @factory.post_generation
    def departments(self, create, extracted, **kwargs):
        self.departments.set(extracted if extracted is not None else [Department.objects.get(code="WX-IIT")])

    @factory.post_generation
    def labels(self, create, extracted, **kwargs):
        self.labels.set(extracted if extracted is not None else [PolicyLabel.objects.get(code="KJCX21")])


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    uscc = factory.LazyFunction(lambda: make_uscc(next(_seq)))
    name = factory.Sequence(lambda n: f"无锡测试{n}科技有限公司")
    contact_mobile = "13812345678"
    region = factory.LazyFunction(lambda: Region.objects.get(code="320214"))
    industry = "C39"
    size_class = Enterprise.Size.SMALL


def token_header(user, *scopes: str, days: int = 30) -> dict:
    """``HTTP_AUTHORIZATION`` for a test client: an integration token for ``user`` with these scopes."""
    from core.tokens import integration_token_create

    _, key = integration_token_create(name=f"测试令牌 {user.username}", user=user, scopes=list(scopes), days=days)
    return {"HTTP_AUTHORIZATION": f"Token {key}"}
