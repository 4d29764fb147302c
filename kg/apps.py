from django.apps import AppConfig


class KgConfig(AppConfig):
    name = "kg"
