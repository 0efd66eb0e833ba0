"""Key accounts and their contacts."""
