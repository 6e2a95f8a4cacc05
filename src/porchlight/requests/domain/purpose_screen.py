"""The forbidden-purpose screen: words that mark a purpose Porchlight never serves.

First Amendment activity and immigration enforcement. A screen, not a guarantee: the
officer also attests to it, and every request is in the public log.

Each entry lists the forms of a word, not a prefix: "protest\\w*" also caught "Protestant",
"picket\\w*" a picket fence, "deport\\w*" a football club called Deportivo, and
"immigra\\w*" a hate crime against an immigrant-owned shop. "March" is a protest unless it
is the month (next to a day or a year, or after "in", "on", "early" ...). A word that mixes
Latin letters with Greek or Cyrillic ones ("protest" written with a Greek omicron) is refused as
such: it can only be there to slip past the screen. The corpus in
tests/data/purpose_screen/ holds texts that must pass beside those that must not.
"""

from __future__ import annotations

import re
import unicodedata

FORBIDDEN_PURPOSES = {
    "first_amendment": re.compile(
        r"\b(protest(s|ed|ers?|ors?|ing)?|counter-?protest(s|ers?|ors?)?|"
        r"demonstrations?(?!\s+(garden|kitchen|farm|plot|home|house|model|video|day|"
        r"project|site)s?\b)|demonstrators?|rall(y|ies)(?!\s+cars?\b)|"
        r"march(ers|ing|ed)|"
        r"picket(s|ed|ers?|ing)?(?!\s+fences?\b)|picket\s+lines?|vigils?|"
        r"petition(s|ed|ers?|ing)?|leaflet(t)?(ing|ers?)|activis(m|ts?)|"
        r"boycott(s|ed|ers?|ing)?|sit-ins?|walk-?outs?|"
        r"(political|religious)\s+(meeting|gathering|assembly|speech|service)s?|"
        r"(worship|prayer)\s+(meeting|gathering|service)s?\s+(attendees|goers|participants)|"
        r"worshippers)\b", re.I),
    "immigration_enforcement": re.compile(
        r"\b(immigration\s+(status|enforcement|violations?|checks?|raids?|detainers?|"
        r"officers?|agents?|authorities|offen[cs]es?|warrants?)|"
        r"deport(s|ed|ing|ations?|ees?|able)?|undocumented|illegals|"
        r"illegal\s+(aliens?|immigrants?|migrants?)|"
        r"visa\s+overstay(s|ers?)?|border\s+patrol|removal\s+proceedings?|"
        r"enforcement\s+and\s+removal|"
        r"ice\s+(raids?|agents?|officers?|enforcement|detainers?|operations?|warrants?)|"
        r"(?-i:ICE)(?!\s+(?i:cream|rink|hockey|skat\w*)\b))\b"
        r"|(?<![\w.])I\.C\.E\.?(?!\w)", re.I),
}

_MARCH = re.compile(r"\bmarch(es)?\b", re.I)
# "March" as the month: a day or a year beside it, or a word that introduces a date
_MONTH_BEFORE = re.compile(
    r"(\b\d{1,2}(st|nd|rd|th)?\s+(of\s+)?|\bmid-|\b(in|on|since|until|till|by|during|"
    r"early|late|mid|last|next|this|from|through|before|after|of|each|every)\s+)$", re.I)
_MONTH_AFTER = re.compile(r"^(\s+\d|,?\s+(19|20)\d\d)")
_LATIN = re.compile(r"[A-Za-z]")


def forbidden_purpose(text: str) -> tuple[str, str] | None:
    """(rule, what the text says) for the first forbidden purpose the text names."""
    for rule, pattern in FORBIDDEN_PURPOSES.items():
        match = pattern.search(text)
        if match:
            return rule, match.group(0)
    for match in _MARCH.finditer(text):
        before, after = text[max(0, match.start() - 24):match.start()], text[match.end():]
        if not (_MONTH_BEFORE.search(before) or _MONTH_AFTER.match(after)):
            return "first_amendment", match.group(0)
    mixed = mixed_script_word(text)
    if mixed is not None:
        return "mixed_scripts", mixed
    return None


def mixed_script_word(text: str) -> str | None:
    """A word with Latin letters beside Greek or Cyrillic ones, if the text has one."""
    for word in re.findall(r"\w+", text):
        if not _LATIN.search(word):
            continue
        for char in word:
            name = unicodedata.name(char, "")
            if name.startswith(("GREEK", "CYRILLIC")):
                return word
    return None
