"""monitor: key-account satisfaction and receivables monitoring."""
