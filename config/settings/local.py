"""Development settings: what ``make run`` uses."""
from config.settings.base import *  # noqa: F401,F403

DEBUG = True
