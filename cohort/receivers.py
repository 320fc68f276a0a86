"""Reactions to other apps' signals."""
