"""Email: rendering (templates, languages) and transports (SMTP, a folder of .eml files)."""
