"""The demo catalog: a catalog worth browsing for `make demo`: categories, creators and buyers,
about fifty listings, four months of sales, reviews, collections, featured slots and page views.

Everything goes through the services a user's clicks would call (listings, orders, refunds,
disputes, subscriptions, reviews), so the ledger, escrow and denormalised columns are exactly what
the real flows leave. Orders are paid the way a rail pays them, without any network: the rail's
deposit lands in the buyer's wallet (tokenomics.services.wallet.wallet_top_up from the Stripe or
chain counter-account) and the order is fulfilled from there (marketplace.services.orders.
order_fulfil), as the payment handler does. There is no Stripe payment behind them, so a refund
stays in the buyer's wallet as credit.

History: the story (listings published, versions uploaded, sales, downloads, refunds, renewals,
reviews) is played in time order over the last ~200 days, each step at the moment it happens
(`self.at`). The services that move money take that moment (`at` / `now`), so the ledger postings
(which nothing may edit), escrow windows and order dates carry the date they would have had; the
plain timestamps of the other rows a step writes (created_at, published_at, replied_at...) are
set to it by the step right after the service call (`_dated`). The run is deterministic (seeded)
and idempotent: when the first listing exists it stops, changing nothing. A run that fails halfway
leaves a partial catalog: start again from a fresh database.
"""
