"""Revive training: data, degradations, models, trainer and the revive-train CLI."""
