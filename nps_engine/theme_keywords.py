"""Each theme's keywords and short label: its members' most distinctive words (class-based TF-IDF,
as BERTopic does), read from the comments written in the store's language.

c-TF-IDF treats all the comments of one theme as one document: a word weighs its frequency in the
theme times log(1 + A / f), where f is its frequency over all themes and A the average number of
words per theme, so words every theme uses ("commande", "order") sink and the theme's own words
rise. Pure: strings in, strings out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence

_WORD = re.compile(r"[^\W\d_][^\W\d_'’-]+", re.UNICODE)


def _set(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split(" "))


# Words that carry no theme, per language (short lists: c-TF-IDF sinks the other common words).
STOPWORDS: Mapping[str, frozenset[str]] = {
    "en": _set(
        "the and for was were are but not you your our with have had has this that they them "
        "their there then than too very all any its it's i'm i've just one two after before "
        "from into out about what when which who will would could should can did does been "
        "being more most much some such only also again still ever never even really quite "
        "got get so my me we us of to in on at by an is be no yes as or if up off over "
        "first time times thanks thank came like last three days day week weeks month "
        "because since while made make"
    ),
    "fr": _set(
        "les des une est pas que qui pour par sur dans avec mais très trop tout tous toute "
        "cette ces son ses mon mes ma nos vos votre notre leur leurs été être avoir avait "
        "ont fait faire plus moins bien aussi encore jamais rien même comme après avant "
        "depuis alors donc car lui elle ils elles nous vous je tu il on en du de la le un "
        "et ou au aux ne se sa ce ça cela j'ai c'est n'a n'est suis était merci sans aucune "
        "aucun sont beaucoup trois deux fois toujours niveau bout jours semaine semaines mois "
        "dès quand"
    ),
    "de": _set(
        "der die das und ist nicht ein eine mit für auf den dem des von zu im war sehr "
        "ich wir sie es hat habe aber auch noch nach kam"
    ),
    "es": _set(
        "el la los las un una y es no de del en con por para que muy se al lo mi su fue pero más"
    ),
    "it": _set("il lo la le gli un una e è di del della in con per che non molto"),
}


def words(text: str, language: str | None) -> list[str]:
    stop = STOPWORDS.get(language or "", frozenset())
    found = (w.lower().strip("'’-") for w in _WORD.findall(text))
    return [w for w in found if len(w) >= 3 and w not in stop]


def keywords_per_theme(
    texts: Sequence[str],
    languages: Sequence[str | None],
    themes: Sequence[int],
    *,
    language: str,
    top: int = 5,
) -> dict[int, list[str]]:
    """The ``top`` most distinctive words of each theme (keys of ``themes`` other than -1).

    Only comments in ``language`` are read, so keywords are in the store's language; a theme with
    fewer than 3 comments in it falls back to all of its comments.
    """
    members: dict[int, list[int]] = {}
    for index, theme in enumerate(themes):
        if theme >= 0:
            members.setdefault(theme, []).append(index)
    counts: dict[int, Counter[str]] = {}
    for theme, rows in members.items():
        local = [i for i in rows if languages[i] == language]
        chosen = local if len(local) >= 3 else rows
        # Each word once per comment: a theme's keywords are the words many of its members use,
        # not one member's repeated word.
        counts[theme] = Counter(w for i in chosen for w in set(words(texts[i], languages[i])))
    overall: Counter[str] = Counter()
    for counter in counts.values():
        overall.update(counter)
    average = sum(overall.values()) / max(len(counts), 1)
    result = {}
    for theme, counter in counts.items():
        total = max(sum(counter.values()), 1)
        weight = {
            w: (c / total) * math.log(1 + average / overall[w]) for w, c in counter.items() if c > 1
        } or {w: c / total for w, c in counter.items()}
        ranked = sorted(weight, key=lambda w: (-weight[w], w))
        result[theme] = ranked[:top]
    return result


def label_of(keywords: Sequence[str]) -> str:
    """A short label from the two strongest keywords ("Retard · colis")."""
    if not keywords:
        return "Unlabelled"
    first, *rest = keywords[:2]
    return " · ".join([first.capitalize(), *rest])
