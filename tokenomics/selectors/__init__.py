"""Reads of the money app."""
