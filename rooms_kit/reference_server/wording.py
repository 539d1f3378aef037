"""Texts worded for the caller, in the few languages the reference server speaks.

``language`` is a BCP 47 tag; its primary subtag picks a table, case-insensitively, and anything
unknown falls back to English (docs/room-lifecycle.md, R-lang-1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phrases:
    invitation: str
    invitation_declined: str
    own_room: str
    auto_matched: str
    anonymous_player: str


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        invitation="Invitation from {creator}",
        invitation_declined="Invitation from {creator} (declined)",
        own_room="Your room",
        auto_matched="Auto-matched game",
        anonymous_player="Player {number}",
    ),
    "fr": Phrases(
        invitation="Invitation de {creator}",
        invitation_declined="Invitation de {creator} (refusée)",
        own_room="Votre salon",
        auto_matched="Partie avec des joueurs trouvés automatiquement",
        anonymous_player="Joueur {number}",
    ),
    "de": Phrases(
        invitation="Einladung von {creator}",
        invitation_declined="Einladung von {creator} (abgelehnt)",
        own_room="Ihr Raum",
        auto_matched="Automatisch zusammengestelltes Spiel",
        anonymous_player="Spieler {number}",
    ),
    "es": Phrases(
        invitation="Invitación de {creator}",
        invitation_declined="Invitación de {creator} (rechazada)",
        own_room="Tu sala",
        auto_matched="Partida con emparejamiento automático",
        anonymous_player="Jugador {number}",
    ),
}
DEFAULT_LANGUAGE = "en"


def phrases_for(language: str | None) -> Phrases:
    """The table for a BCP 47 tag (``fr-CA`` gives French); English when unknown or absent."""
    if not language:
        return PHRASES[DEFAULT_LANGUAGE]
    primary = language.replace("_", "-").split("-", 1)[0].strip().lower()
    return PHRASES.get(primary, PHRASES[DEFAULT_LANGUAGE])
