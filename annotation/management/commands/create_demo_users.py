"""``manage.py create_demo_users [--dataset NAME]``: one demo login per role, for trying FormLab.

The passwords are printed and fixed: never run this on a server with real data.
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from annotation.models import Assignment
from annotation.roles import ROLES
from datasets.models import Clip

DEMO_USERS = [
    ("annotator", "annotator", ["annotator"]),
    ("annotator2", "annotator2", ["annotator"]),
    ("reviewer", "reviewer", ["reviewer"]),
    ("curator", "curator", ["curator"]),
    ("admin", "admin", ["admin"]),
]
DEMO_PASSWORD_SUFFIX = "-demo-pass"


class Command(BaseCommand):
    help = "Create demo users (annotator, annotator2, reviewer, curator, admin) and give the annotators work."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default="demo", help="Assign this dataset's first clips to the annotators.")

    @transaction.atomic
    def handle(self, *args, dataset, **options):
        User = get_user_model()
        for name in ROLES:
            Group.objects.get_or_create(name=name)
        for username, _, groups in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(username + DEMO_PASSWORD_SUFFIX)
                user.is_staff = "admin" in groups or "curator" in groups
                user.is_superuser = "admin" in groups
                user.save()
            user.groups.add(*Group.objects.filter(name__in=groups))
            if "annotator" in groups:
                for clip in Clip.objects.filter(dataset__name=dataset).order_by("id")[:10]:
                    for kind in (Assignment.Kind.ENDPOINTS, Assignment.Kind.SEVERITY):
                        Assignment.objects.get_or_create(annotator=user, clip=clip, kind=kind)
        for username, _, groups in DEMO_USERS:
            self.stdout.write(f"  {username:<11} password: {username}{DEMO_PASSWORD_SUFFIX}   ({', '.join(groups)})")
