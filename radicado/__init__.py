"""Radicado: an open-source service desk for Latin America."""
