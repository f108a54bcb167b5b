"""Repositories: parameterised SQL in, dataclasses out."""
