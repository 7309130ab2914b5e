"""Agents for polygym environments."""
