"""Shipped smooth Fano data (d = 2..6); see README.md here for the citation."""
