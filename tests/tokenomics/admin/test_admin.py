"""Staff can look at the ledger, parameters and escrow in the admin; nobody can change them there."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import Escrow, LedgerAccount, LedgerEntry, LedgerTransaction, Parameter
from tokenomics.models.ledger import AccountKind
from tokenomics.services.escrow import escrow_hold
from tokenomics.services.parameters import parameter_set

pytestmark = pytest.mark.django_db

MODELS = ("ledgeraccount", "ledgertransaction", "parameter", "escrow")


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def money(user, other_user):
    """One of each: a funded wallet (account + deposit), an escrow hold, and a governed parameter."""
    wallet = funded_wallet(user=user, amount=123_456)
    escrow = escrow_hold(
        reference="order:42", creator=other_user, source_account=wallet, amount=10_000, payer=user
    )
    parameter_set(key="payout.minimum_cents", value=1_100, reason="Cheaper transfers")
    return {
        "ledgeraccount": wallet,
        "ledgertransaction": LedgerTransaction.objects.filter(kind="deposit").get(),
        "parameter": Parameter.objects.get(key="payout.minimum_cents"),
        "escrow": escrow,
    }


def _url(model: str, view: str = "changelist", pk: int | None = None) -> str:
    base = f"/admin/tokenomics/{model}/"
    return {
        "changelist": base,
        "add": f"{base}add/",
        "change": f"{base}{pk}/change/",
        "delete": f"{base}{pk}/delete/",
    }[view]


@pytest.mark.parametrize("model", MODELS)
def test_superuser_opens_changelist_and_change_view_read_only(client, superuser, money, model):
    client.force_login(superuser)
    listing = client.get(_url(model))
    assert listing.status_code == 200
    assert f'href="{_url(model, "add")}"' not in listing.content.decode()
    obj = money[model]
    detail = client.get(_url(model, "change", obj.pk))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'name="_save"' not in html  # view only: no save button
    assert f'href="{_url(model, "delete", obj.pk)}"' not in html


@pytest.mark.parametrize("model", MODELS)
def test_nobody_can_add_change_or_delete(client, superuser, money, model):
    client.force_login(superuser)
    obj = money[model]
    assert client.get(_url(model, "add")).status_code == 403
    assert client.get(_url(model, "delete", obj.pk)).status_code == 403
    assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert client.post(_url(model, "change", obj.pk), {}).status_code == 403
    changelist = client.post(_url(model), {"action": "delete_selected", "_selected_action": [obj.pk]})
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert changelist.status_code in (200, 302)


def test_a_posted_balance_is_ignored(client, superuser, money):
    wallet = money["ledgeraccount"]
    entries = LedgerEntry.objects.count()
    client.force_login(superuser)
    response = client.post(_url("ledgeraccount", "change", wallet.pk), {"balance": "999999999"})
    assert response.status_code == 403
    wallet.refresh_from_db()
    assert wallet.balance == 123_456 - 10_000  # the top-up less the escrow hold
    assert LedgerEntry.objects.count() == entries


def test_account_page_shows_formatted_balance_and_latest_entries(client, superuser, money):
    client.force_login(superuser)
    listing = client.get(_url("ledgeraccount"), {"q": money["ledgeraccount"].owner.email}).content.decode()
    assert "$1,134.56" in listing  # $1,234.56 funded, $100.00 held in escrow
    html = client.get(_url("ledgeraccount", "change", money["ledgeraccount"].pk)).content.decode()
    assert "Latest entries" in html
    assert "+$1,234.56" in html  # the deposit
    assert "-$100.00" in html  # the escrow hold
    assert f'href="/admin/tokenomics/ledgertransaction/{money["ledgertransaction"].pk}/change/"' in html


def test_transaction_page_lists_its_entries(client, superuser, money):
    client.force_login(superuser)
    html = client.get(_url("ledgertransaction", "change", money["ledgertransaction"].pk)).content.decode()
    assert "+$1,234.56" in html
    assert "-$1,234.56" in html
    found = client.get(_url("ledgertransaction"), {"q": money["ledgertransaction"].idempotency_key})
    assert found.context["cl"].result_count == 1


def test_parameter_pages_say_values_change_through_governance(client, superuser, money):
    client.force_login(superuser)
    listing = client.get(_url("parameter")).content.decode()
    assert "Values change only through governance" in listing
    html = client.get(_url("parameter", "change", money["parameter"].pk)).content.decode()
    assert "Values change only through governance" in html
    assert "Cheaper transfers" in html
    assert "$10.00" in html
    assert "$11.00" in html


def test_escrow_list_filters_by_state_and_frozen(client, superuser, money):
    client.force_login(superuser)
    held = client.get(_url("escrow"), {"state__exact": "held", "frozen__exact": "0"})
    assert held.context["cl"].result_count == 1
    assert "$100.00" in held.content.decode()
    released = client.get(_url("escrow"), {"state__exact": "released"})
    assert released.context["cl"].result_count == 0


def test_staff_with_view_permission_only_can_look(client, money):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label="tokenomics", codename__startswith="view_")
    )
    client.force_login(staff)
    for model in MODELS:
        assert client.get(_url(model)).status_code == 200
        assert client.get(_url(model, "change", money[model].pk)).status_code == 200
        assert client.get(_url(model, "add")).status_code == 403


def test_staff_without_permission_cannot_look(client, money):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(_url("ledgeraccount")).status_code == 403


def test_non_staff_are_sent_to_the_admin_login(client, user, money):
    client.force_login(user)
    for model in MODELS:
        response = client.get(_url(model))
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert Escrow.objects.count() == 1
    assert LedgerAccount.objects.filter(kind=AccountKind.WALLET).count() == 1
