"""Config models: stack YAML → validated pydantic models (every error names its stack key). No pulumi here."""
from .base import ConfigError, Problem
from .secrets import check_secrets
from .stack import StackConfig, load_stack_file, parse_stack_config, required_secrets

__all__ = ["ConfigError", "Problem", "StackConfig", "load_stack_file", "check_secrets", "parse_stack_config",
           "required_secrets"]
