"""`GET /api/v1/transparency`: the public report of supply, burns, treasury, emission, distributions
and stake (tokenomics.selectors.transparency has the definitions). Money objects as API.md's."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import MoneySerializer
from tokenomics.models import Asset
from tokenomics.money import money_json
from tokenomics.selectors.transparency import SHARES, EpochRow, Transparency, transparency_report


class SupplySerializer(serializers.Serializer[Any]):
    minted = MoneySerializer(help_text="`token.total_supply`, fixed by the contract.")
    burned = MoneySerializer(
        help_text="The burn account's balance: network fees of AGR sales, slashed stake."
    )
    burned_on_chain = MoneySerializer(
        help_text="Of `burned`, what confirmed transfers sent to the burn address."
    )
    total = MoneySerializer(help_text="minted - burned.")
    circulating = MoneySerializer(
        help_text="total - rewards reserve - treasury AGR - community pool AGR (held back)."
    )


class EmissionSerializer(serializers.Serializer[Any]):
    emitted = MoneySerializer(help_text="Paid from the rewards reserve to providers by epochs so far.")
    scheduled = MoneySerializer(help_text="What the emission schedule allowed from the genesis day to now.")
    cap = MoneySerializer(
        help_text="emission.provider_rewards_bps of the supply: all the reserve ever holds."
    )
    reserve = MoneySerializer(help_text="The rewards reserve's balance (not yet emitted).")
    genesis_day = serializers.DateTimeField(
        allow_null=True, help_text="Epoch 1 and emission year 1 start here."
    )


class EpochShareSerializer(serializers.Serializer[Any]):
    asset = serializers.ChoiceField(choices=Asset.choices)
    pool = MoneySerializer(help_text="Platform revenue distributed by this epoch.")
    providers = MoneySerializer()
    creators = MoneySerializer()
    integrations = MoneySerializer()
    community = MoneySerializer(help_text="To voters by participation, or to the community pool until then.")
    carried = MoneySerializer(
        help_text="Left in platform revenue for the next epoch (remainders, unclaimed shares)."
    )


class EpochSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField()
    distributions = EpochShareSerializer(many=True)
    emission_scheduled = MoneySerializer(help_text="The schedule's AGR for the epoch's time.")
    emission_paid = MoneySerializer(help_text="AGR paid to providers (the rest stays in the reserve).")


class StakedTierSerializer(serializers.Serializer[Any]):
    tier = serializers.CharField()
    staked = MoneySerializer()


class BurnPointSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(help_text="The Monday the week starts.")
    burned = MoneySerializer(help_text="Cumulative AGR burned by the end of that week.")


class TransparencySerializer(serializers.Serializer[Any]):
    as_of = serializers.DateTimeField()
    supply = SupplySerializer()
    treasury = MoneySerializer(many=True, help_text="The treasury's balance per asset.")
    community_pool = MoneySerializer(many=True, help_text="The community pool's balance per asset.")
    emission = EmissionSerializer()
    staked = StakedTierSerializer(many=True, help_text="AGR staked per tier.")
    epochs = EpochSerializer(many=True, help_text="The latest closed epochs, newest first.")
    burned_history = BurnPointSerializer(many=True, help_text="Cumulative burns over the last 26 weeks.")


def _agr(amount: int) -> dict[str, str]:
    return money_json(amount=amount, asset=Asset.AGR)


def _epoch(row: EpochRow) -> dict[str, Any]:
    return {
        "number": row.number,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "closed_at": row.closed_at,
        "distributions": [
            {
                "asset": asset,
                **{
                    key: money_json(amount=parts.get(key, 0), asset=asset)
                    for key in ("pool", *SHARES, "carried")
                },
            }
            for asset, parts in sorted(row.distribution.items())
        ],
        "emission_scheduled": _agr(row.emission_scheduled),
        "emission_paid": _agr(row.emission_paid),
    }


def transparency_json(report: Transparency) -> dict[str, Any]:
    return {
        "as_of": report.as_of,
        "supply": {
            "minted": _agr(report.minted_supply),
            "burned": _agr(report.burned),
            "burned_on_chain": _agr(report.burned_on_chain),
            "total": _agr(report.total_supply),
            "circulating": _agr(report.circulating_supply),
        },
        "treasury": [money_json(amount=amount, asset=asset) for asset, amount in report.treasury.items()],
        "community_pool": [
            money_json(amount=amount, asset=asset) for asset, amount in report.community_pool.items()
        ],
        "emission": {
            "emitted": _agr(report.emitted),
            "scheduled": _agr(report.emission_scheduled),
            "cap": _agr(report.emission_cap),
            "reserve": _agr(report.rewards_reserve),
            "genesis_day": report.genesis_day,
        },
        "staked": [{"tier": tier, "staked": _agr(amount)} for tier, amount in report.staked_by_tier.items()],
        "epochs": [_epoch(row) for row in report.epochs],
        "burned_history": [
            {"date": point.at, "burned": _agr(point.value)} for point in report.burned_history
        ],
    }


class TransparencyApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="transparency_retrieve",
        responses=TransparencySerializer,
        tags=["transparency"],
        description=(
            "Public: AGR supply (minted, burned, total, circulating), the treasury, the provider-rewards "
            "emission against its schedule, the latest revenue-distribution epochs and the AGR staked per "
            "tier. Every figure is a sum of ledger entries. Amounts are API.md money objects."
        ),
    )
    def get(self, request: Request) -> Response:
        return Response(TransparencySerializer(transparency_json(transparency_report())).data)
