"""Config models: stack YAML → validated pydantic models (every error names its stack key)."""
from .base import ConfigError, Problem
from .stack import Secrets, StackConfig, load_secrets, load_stack_config, parse_stack_config

__all__ = ["ConfigError", "Problem", "Secrets", "StackConfig", "load_secrets", "load_stack_config", "parse_stack_config"]
