"""Composition root: configuration, wiring of stores and services, the command line."""
