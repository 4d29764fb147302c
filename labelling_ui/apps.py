from django.apps import AppConfig


class LabellingUiConfig(AppConfig):
    name = "labelling_ui"
