import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from enterprises.derivation import derived_tags_refresh
from enterprises.models import Enterprise, EnterpriseTag, PortraitTag
from enterprises.validators import normalize_industry, normalize_mobile, normalize_uscc
from policies.models import Policy

pytestmark = pytest.mark.django_db


def seed(*, enterprises=2000, policies=60, seed=7, if_empty=False):
    call_command(
        "seed_demo", enterprises=enterprises, policies=policies, seed=seed, if_empty=if_empty, stdout=io.StringIO()
    )


def test_demo_firms_are_valid_and_tagged_realistically():
    seed()
    firms = list(Enterprise.objects.all())
    assert len(firms) == 2000
    assert len({f.uscc for f in firms}) == 2000
    for firm in firms:
        assert normalize_uscc(firm.uscc) == firm.uscc
        assert normalize_industry(firm.industry) == firm.industry
        if firm.contact_mobile:
            assert normalize_mobile(firm.contact_mobile) == firm.contact_mobile
        assert firm.name.startswith("无锡") and firm.region_id
    per_firm = EnterpriseTag.objects.values("enterprise").annotate(n=Count("id"))
    assert min(row["n"] for row in per_firm) >= 2  # ownership and legal form at least
    district, section, size, age = (
        PortraitTag.objects.filter(category__code=c) for c in ("DIST", "GBHY", "SIZE", "AGE")
    )
    for firm in firms:
        derived = set(firm.derived_tags)
        for category in (district, section, size, age):
            assert derived & {t.pk for t in category}, (firm.name, category)
    # The seeder and the nightly refresh apply the same rules: refreshing finds nothing to change.
    assert derived_tags_refresh() == 0
    # Correlation: qualifications are far more common in tech divisions than elsewhere.
    tech = Enterprise.objects.filter(industry__in=["C39", "I64", "I65", "C35"])
    tech_share = tech.filter(tag_links__tag__code="QUAL01").count() / max(tech.count(), 1)
    other = Enterprise.objects.filter(industry__startswith="F")
    other_share = other.filter(tag_links__tag__code="QUAL01").count() / max(other.count(), 1)
    assert tech_share > 3 * other_share
    # Certificates carry their number, issuer and validity.
    cert = EnterpriseTag.objects.filter(source="import").first()
    assert cert.certificate_no and cert.issued_by and cert.valid_until


def test_demo_policies_span_the_four_levels_with_guides():
    seed(enterprises=0, policies=200)
    assert set(Policy.objects.values_list("level", flat=True)) == {"national", "provincial", "city", "district"}
    published = Policy.objects.filter(status="published")
    assert published.count() > 150
    sample = published.exclude(delivery="no_application").first()
    assert sample.steps and sample.materials and sample.labels.exists() and sample.departments.exists()
    assert Policy.objects.filter(level="district", region__isnull=True).count() == 0
    assert sample.history.exists()
    from policies.audience_rules import Vocabulary, validate_rule

    vocabulary = Vocabulary.load()
    for rule in Policy.objects.values_list("audience_rule", flat=True):
        validate_rule(rule, vocabulary)  # every demo rule is one staff could have saved
    district = Policy.objects.filter(level="district").first()
    assert {"field": "region", "op": "in", "value": [district.region.code]} in district.audience_rule["all"]


def test_same_seed_gives_the_same_data_and_if_empty_makes_reruns_safe():
    seed(seed=11)
    first = list(Enterprise.objects.order_by("id").values_list("name", "industry", "contact_mobile")[:50])
    seed(if_empty=True)
    assert Enterprise.objects.count() == 2000  # nothing added the second time
    Enterprise.objects.all().delete()
    Policy.objects.all().delete()
    seed(seed=11)
    again = list(Enterprise.objects.order_by("id").values_list("name", "industry", "contact_mobile")[:50])
    assert first == again
