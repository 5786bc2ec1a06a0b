"""Commands over the persistent workspace."""
