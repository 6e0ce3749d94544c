"""The money app: ledger, parameter registry, splits, escrow, payouts, staking and payment rails."""
