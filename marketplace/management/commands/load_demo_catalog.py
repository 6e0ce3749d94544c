"""`manage.py load_demo_catalog`: the demo catalog (marketplace.demo_catalog tells the story)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from marketplace.demo_catalog.loader import CatalogLoader


class Command(CatalogLoader, BaseCommand):
    help = "Load a demo catalog: categories, creators, listings, four months of sales, reviews, collections."
