"""Implementations of the service ports: SQL storage, tokens, mail, Microsoft Graph."""
