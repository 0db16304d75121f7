"""The closed vocabularies of the convenant, with the Dutch terms as values."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AnswerShape",
    "Colour",
    "Criterion",
    "District",
    "LifeDomain",
    "Partner",
    "SubjectRole",
    "Track",
    "YesNo",
]


class Partner(StrEnum):
    """The 14 partner organisations that receive questions (the police is deliberately absent)."""

    VERWIJSINDEX = "verwijsindex"
    LEERPLICHT = "leerplicht"
    CJG = "cjg"
    SWT = "swt"
    WONINGCORPORATIE = "woningcorporatie"
    BRP = "brp"
    SZW_UWV = "szw_uwv"
    VEILIGHEIDSHUIS = "veiligheidshuis"
    RN = "rn"
    JGB = "jgb"
    WSG = "wsg"
    OM = "om"
    CJIB = "cjib"
    RIEC = "riec"

    @property
    def organisation(self) -> str:
        return _ORGANISATIONS[self]


_ORGANISATIONS: dict[Partner, str] = {
    Partner.VERWIJSINDEX: "Verwijsindex Risicojongeren (VIR)",
    Partner.LEERPLICHT: "Leerplicht / RMC",
    Partner.CJG: "Centrum Jeugd en Gezin",
    Partner.SWT: "Sociaal Wijkteam",
    Partner.WONINGCORPORATIE: "Woningcorporatie",
    Partner.BRP: "Basisregistratie Personen",
    Partner.SZW_UWV: "Sociale Zaken en Werkgelegenheid / UWV",
    Partner.VEILIGHEIDSHUIS: "Zorg- en Veiligheidshuis",
    Partner.RN: "Reclassering Nederland",
    Partner.JGB: "De Jeugd- en Gezinsbeschermers",
    Partner.WSG: "William Schrikker Groep",
    Partner.OM: "Openbaar Ministerie",
    Partner.CJIB: "Centraal Justitieel Incassobureau",
    Partner.RIEC: "Regionaal Informatie- en Expertisecentrum",
}


class Colour(StrEnum):
    """The focus-list label. Declaration order is the order of disclosure: groen < oranje < rood."""

    GROEN = "groen"
    ORANJE = "oranje"
    ROOD = "rood"

    @property
    def rank(self) -> int:
        return list(Colour).index(self)


class AnswerShape(StrEnum):
    """What an answer may contain, from least to most disclosure."""

    JA_NEE = "ja_nee"
    JA_NEE_MET_WIE = "ja_nee_met_wie"
    JA_NEE_DOMEINEN = "ja_nee_domeinen"
    JA_NEE_TOELICHTING = "ja_nee_toelichting"
    DETAIL = "detail"

    def covers(self, other: AnswerShape) -> bool:
        """True when every answer permitted under `other` is also permitted under `self`."""
        return self is other or other is AnswerShape.JA_NEE


class YesNo(StrEnum):
    JA = "ja"
    NEE = "nee"


class SubjectRole(StrEnum):
    """Whom a question is about: the youth, or a family member (oranje and rood only)."""

    JONGERE = "jongere"
    GEZINSLID = "gezinslid"


class LifeDomain(StrEnum):
    """The closed list of life domains ("leefgebieden", after the Zelfredzaamheid-Matrix)."""

    FINANCIEN = "financien"
    WERK_OPLEIDING = "werk_opleiding"
    TIJDSBESTEDING = "tijdsbesteding"
    HUISVESTING = "huisvesting"
    HUISELIJKE_RELATIES = "huiselijke_relaties"
    GEESTELIJKE_GEZONDHEID = "geestelijke_gezondheid"
    LICHAMELIJKE_GEZONDHEID = "lichamelijke_gezondheid"
    VERSLAVING = "verslaving"
    ADL = "adl"
    SOCIAAL_NETWERK = "sociaal_netwerk"
    MAATSCHAPPELIJKE_PARTICIPATIE = "maatschappelijke_participatie"
    JUSTITIE = "justitie"


class District(StrEnum):
    """The Haarlem districts ("stadsdelen") of the afwegingskader."""

    CENTRUM = "centrum"
    NOORD = "noord"
    OOST = "oost"
    ZUID_WEST = "zuid_west"
    SCHALKWIJK = "schalkwijk"


class Track(StrEnum):
    """IAJ (up to 23) or the Bestuurlijk Interventie Team track (up to and including 27)."""

    IAJ = "iaj"
    BIT = "bit"


class Criterion(StrEnum):
    """Afwegingskader criteria (§3.3) the regisseur records; age is checked by the system.
    Which criteria admit a track, and which a colour needs, is in the policy file."""

    POLITIECONTACTEN = "politiecontacten"  # 2+ police contacts / nuisance reports past year
    NETWERK_IMPACT_WIJK = "netwerk_impact_wijk"  # part of the network, impact on the district
    ZORGSIGNALEN_GEZIN = "zorgsignalen_gezin"  # care signals on several domains and family
    SOCIAAL_AANBOD_GEWEIGERD = "sociaal_aanbod_geweigerd"  # BIT: social offer refused
    GEDRAG_GECONTINUEERD = "gedrag_gecontinueerd"  # BIT: offer accepted, behaviour continued
