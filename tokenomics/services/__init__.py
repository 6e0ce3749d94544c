"""Writes of the money app; `ledger.transaction_post` is the only writer of ledger rows."""
