"""The rights-holder registry: who registered, what they protect, and whom they license.

Opt-in: nothing is protected until a holder registers it as a mark."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class RightsHolder(models.Model):
    """An account that registered as a rights holder; only its owner manages its marks."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rights_holders"
    )
    display_name = models.CharField(max_length=120)
    contact = models.EmailField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name


class Mark(models.Model):
    class Kind(models.TextChoices):
        NAME = "name"
        LOGO = "logo"
        CHARACTER = "character"

    class Policy(models.TextChoices):
        BLOCKED = "blocked"  # no one may generate it
        ALLOWED = "allowed"  # anyone may: registered so its use is on record
        LICENSED = "licensed"  # only the users the holder licensed

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    holder = models.ForeignKey(RightsHolder, on_delete=models.CASCADE, related_name="marks")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=120)
    aliases = models.JSONField(default=list, blank=True)
    # The names and aliases folded for matching (case, accents, punctuation): see rights.terms.
    terms = models.JSONField(default=list, blank=True)
    policy = models.CharField(max_length=10, choices=Policy.choices, default=Policy.BLOCKED)
    logo = models.ForeignKey(
        "media.Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The logo's ORB features (rights.logos.features_pack), computed once at registration.
    logo_features = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "policy"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.holder})"


class License(models.Model):
    """A holder's permission for one user to generate one licensed mark, until revoked."""

    mark = models.ForeignKey(Mark, on_delete=models.CASCADE, related_name="licenses")
    licensee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rights_licenses"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mark", "licensee"],
                condition=Q(revoked_at__isnull=True),
                name="rights_one_active_license",
            )
        ]
