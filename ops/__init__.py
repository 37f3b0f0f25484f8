"""Day-2 operations on a running cluster: maintenance mode and rolling updates (python -m ops)."""
