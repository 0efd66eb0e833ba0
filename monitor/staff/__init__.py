"""Staff users, their roles and personal API tokens."""
