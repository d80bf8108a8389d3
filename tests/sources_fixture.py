"""Tiny wheels in the exact layout of the pinned sources (Django catalogues, sae-probes CSVs),
so the workflow's builders run on fixture data without a registry."""

from __future__ import annotations

import hashlib
import random
import zipfile
from pathlib import Path

import zstandard

WORDS = {
    "en": "the house is open and we save the new file for the user today".split(),
    "fr": "la maison est ouverte et nous gardons le nouveau fichier pour vous".split(),
    "de": "das Haus ist offen und wir speichern die neue Datei für den Nutzer".split(),
    "ca": "la casa és oberta i desem el fitxer nou per a l'usuari avui".split(),
}


def _po(language: str, n: int, rng: random.Random) -> str:
    lines = ['msgid ""', 'msgstr ""', f'"Language: {language}\\n"', ""]
    for i in range(n):
        source = f"message {i} " + " ".join(rng.choices(WORDS["en"], k=6))
        target = " ".join(rng.choices(WORDS[language], k=rng.randint(4, 9)))
        lines += [f'msgid "{source}"', f'msgstr "{target if language != "en" else ""}"', ""]
    return "\n".join(lines)


def django_wheel(path: Path, languages=("en", "fr", "de", "ca"), n=120) -> str:
    rng = random.Random(0)
    with zipfile.ZipFile(path, "w") as wheel:
        for language in languages:
            wheel.writestr(f"django/conf/locale/{language}/LC_MESSAGES/django.po",
                           _po(language, n, rng))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _csv(rows: list[tuple[str, str]]) -> bytes:
    text = "prompt,prompt_len,target\n" + "".join(
        f'"{p}",{len(p.split())},{t}\n' for p, t in rows
    )
    return zstandard.ZstdCompressor().compress(text.encode())


def sae_probes_wheel(path: Path, n=40) -> str:
    rng = random.Random(1)
    filler = "we went there after the game and talked about the long day".split()
    with zipfile.ZipFile(path, "w") as wheel:
        for stem, (first, second) in {"65_high-school": ("high", "school"),
                                      "68_credit-card": ("credit", "card")}.items():
            rows = []
            for i in range(n):
                prefix = " ".join(rng.choices(filler, k=8))
                other = rng.choice(filler)
                rows.append((f"{prefix} {first} {second}", "bigram"))
                rows.append((f"{prefix} {other} {second}", "not_bigram"))
            wheel.writestr(f"sae_probes/data/cleaned_data/{stem}.csv.zst", _csv(rows))
        background = [(" ".join(rng.choices(filler, k=30)), "x") for _ in range(60)]
        wheel.writestr("sae_probes/data/cleaned_data/161_agnews_0.csv.zst", _csv(background))
        names = ["Marie Curie", "Ada Lovelace", "Alan Turing", "Niels Bohr", "Émilie Châtelet"]
        people = [(f"{' '.join(rng.choices(filler, k=10))} {rng.choice(names)}{i}",
                   rng.choice(["female", "male"])) for i in range(n * 2)]
        wheel.writestr("sae_probes/data/cleaned_data/56_wikidatasex_or_gender.csv.zst",
                       _csv(people))
        for stem, words in {"158_code_C": "int main void return printf struct",
                            "159_code_Python": "def return import self lambda yield"}.items():
            code = [(" ".join(rng.choices(words.split(), k=20)) + f" {i}", rng.choice("01"))
                    for i in range(n * 2)]
            wheel.writestr(f"sae_probes/data/cleaned_data/{stem}.csv.zst", _csv(code))
        news = [(f"NEWS {i}: " + " ".join(rng.choices(filler, k=15)), "Politics")
                for i in range(n)]
        wheel.writestr("sae_probes/data/cleaned_data/97_news_class.csv.zst", _csv(news))
        tweets = [(f"@user{i} LOL  " + " ".join(rng.choices(filler, k=8)) + "\\n #fun", "worry")
                  for i in range(n)]
        wheel.writestr("sae_probes/data/cleaned_data/102_twt_emotion.csv.zst", _csv(tweets))
    return hashlib.sha256(path.read_bytes()).hexdigest()
