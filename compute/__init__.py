"""Providers, Triton nodes, health, routing, the inference gateway and batch jobs."""
