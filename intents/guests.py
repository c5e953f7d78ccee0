"""How many adults and children a stay is for, from free text in pt-BR, en and es."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from intents.dates import NUMBER_WORDS
from intents.text import fold


def _any(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


_PT_PARTNER = _any(
    "esposa",
    "esposo",
    "marido",
    "mulher",
    r"namorad[oa]",
    r"noiv[oa]",
    r"companheir[oa]",
    r"parceir[oa]",
)
_EN_PARTNER = _any(
    "wife", "husband", "partner", "gf", "bf", "girlfriend", "boyfriend", "fiance", "fiancee"
)
_ES_PARTNER = _any("esposa", "esposo", "marido", "mujer", r"novi[oa]", "senora", "pareja")

_WORDS = {
    "pt": {
        "adults": r"adult[oa]s?",
        "children": _any(r"criancas?", r"filh[oa]s?", r"kids?", r"menin[oa]s", r"bebes?",
                         r"nenens?"),
        "people": _any(r"pessoas?", r"hospedes?", "adultos e criancas"),
        "we_are": _any("somos", "seremos", "estamos em", "vamos em", "vamos ser", "sou eu e mais"),
        "couple": _any("casal", rf"eu e (?:a |o )?(?:minha |meu )?{_PT_PARTNER}"),
        "couples": "casais",
        "alone": _any("so eu", "somente eu", "apenas eu", r"sozinh[oa]", r"eu sozinh[oa]"),
        "me_and_my": r"(?:eu|mim|so eu) (?:e|\+|com) (?:m[eiu]+[sn]?s? )?",
        "spouse": rf"(?:minha|meu) {_PT_PARTNER}",
    },
    "en": {
        "adults": r"adults?",
        "children": _any(r"kids?", r"child(?:ren)?", r"sons?", r"daughters?", "babies", "baby",
                         r"toddlers?", r"teens?"),
        "people": _any("people", "ppl", r"persons?", r"guests?", "pax", "of us"),
        "we_are": _any("we are", "we're", "were", "there are", "there'll be", "party of",
                       "group of", "family of"),
        "couple": _any("a couple", "couple", rf"my {_EN_PARTNER} and (?:i|me)",
                       rf"me and my {_EN_PARTNER}"),
        "couples": "couples",
        "alone": _any("just me", "only me", "solo traveller", "solo traveler", "by myself",
                      "myself only", "alone"),
        "me_and_my": r"(?:me|i) (?:and|\+|&|with) (?:my )?",
        "spouse": rf"my {_EN_PARTNER}",
    },
    "es": {
        "adults": r"adult[oa]s?",
        "children": _any(r"ninos?", r"ninas?", r"hij[oa]s?", "chicos", r"nenes?", r"bebes?",
                         "peques"),
        "people": _any(r"personas?", "huespedes", "pax"),
        "we_are": _any("somos", "seremos", "vamos", "viajamos"),
        "couple": _any("pareja", "en pareja", rf"mi {_ES_PARTNER} y yo", rf"yo y mi {_ES_PARTNER}"),
        "couples": "parejas",
        "alone": _any("solo yo", "yo solo", "yo sola", r"sol[oa] yo", r"viajo sol[oa]"),
        "me_and_my": r"(?:yo|viajo) (?:y|\+|con) (?:mis? )?",
        "spouse": rf"mi {_ES_PARTNER}",
    },
}  # fmt: skip

_LANGUAGE = {"pt_BR": "pt", "en": "en", "es": "es"}


@dataclass(frozen=True, slots=True)
class Guests:
    adults: int | None = None
    children: int | None = None

    def as_entities(self) -> dict[str, int]:
        found = {}
        if self.adults:
            found["adults"] = self.adults
        if self.children:
            found["children"] = self.children
        return found


@dataclass(frozen=True, slots=True)
class _Grammar:
    language: str
    adults: re.Pattern[str]
    couples: re.Pattern[str]
    children: re.Pattern[str]
    people: re.Pattern[str]
    we_are: re.Pattern[str]
    couple: re.Pattern[str]
    alone: re.Pattern[str]
    me_and_children: re.Pattern[str]
    spouse: re.Pattern[str]


@cache
def _grammar(language: str) -> _Grammar:
    words = _WORDS[language]
    number = r"(\d{1,2}|" + "|".join(NUMBER_WORDS[language]) + r")"
    return _Grammar(
        language=language,
        adults=re.compile(rf"\b{number}\s+{words['adults']}\b"),
        couples=re.compile(rf"\b{number}\s+{words['couples']}\b"),
        children=re.compile(rf"\b{number}\s+(?:\w+\s+)?{words['children']}\b"),
        people=re.compile(rf"\b(?:para\s+|for\s+)?{number}\s+{words['people']}\b"),
        we_are=re.compile(rf"\b{words['we_are']}\s+{number}\b(?!\s+{words['couple']})"),
        couple=re.compile(rf"\b{words['couple']}\b"),
        alone=re.compile(rf"\b{words['alone']}\b"),
        me_and_children=re.compile(rf"\b{words['me_and_my']}{number}\s+{words['children']}\b"),
        spouse=re.compile(rf"\b{words['spouse']}\b"),
    )


def guests(text: str, locale: str) -> Guests:
    language = _LANGUAGE.get(locale, "pt")
    grammar = _grammar(language)
    folded = fold(text).replace("+", " + ")
    folded = re.sub(r"\s+", " ", folded)
    children = _count(grammar, grammar.children, folded)
    adults = _count(grammar, grammar.adults, folded)
    couples = _count(grammar, grammar.couples, folded)
    if adults is None and couples is not None:
        adults = 2 * couples
    if adults is None:
        total = _count(grammar, grammar.people, folded) or _count(grammar, grammar.we_are, folded)
        if total is not None:
            adults = total - (children or 0) if children and total > children else total
    if adults is None and children and grammar.spouse.search(folded):
        adults = 2
    if adults is None and grammar.me_and_children.search(folded):
        adults = 1
    if adults is None and grammar.couple.search(folded):
        adults = 2
    if adults is None and grammar.alone.search(folded):
        adults = 1
    return Guests(adults=adults, children=children)


def _count(grammar: _Grammar, pattern: re.Pattern[str], folded: str) -> int | None:
    found = pattern.search(folded)
    if found is None:
        return None
    token = found.group(1)
    return int(token) if token.isdigit() else NUMBER_WORDS[grammar.language].get(token)
