"""Proposals, votes, delegation, tallies and timelocked execution of parameter changes."""
