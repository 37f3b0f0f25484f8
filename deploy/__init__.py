"""The deploy driver: the real Pulumi engine through the Automation API (`python -m deploy --help`)."""
