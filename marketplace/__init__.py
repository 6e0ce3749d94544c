"""Listings, versions, plans, search, reviews, orders, licenses, subscriptions, refunds, disputes."""
