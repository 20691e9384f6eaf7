#!/usr/bin/env python3
"""Derives the extractor's compact place gazetteer from GeoNames.

Reads ../shared/data/geo/geonames-cities15000.json.gz and geonames-countries.json (CC BY 4.0,
GeoNames) and writes crates/extract/data/places.tsv: one line per place name,

    name<TAB>country iso2<TAB>latitude<TAB>longitude<TAB>population<TAB>canonical name

with names lower-cased and ASCII only. Only the largest city of a given name is kept. Single-word
names that are also common words in English news ("of", "police", "union", "most", ...) are left
out unless the city has a million people: the text is matched case-blind, so "police" would
otherwise be a town in Poland. The list of such words is below, picked by hand from the
single-word city names that occur 15 times or more in the MUC-4 training texts.

Run from the repository root:  python3 scripts/gen_gazetteer.py
"""
import gzip
import json
import os
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "geo")
OUT = os.path.join(ROOT, "crates", "extract", "data", "places.tsv")
POPULATION_MIN = 20000

COMMON_WORDS = set("""
of san police time central most same union say rodriguez march ponce summit university much
alliance along lopez republic martinez man airport officer un castro oas pizarro liberal normal
mission rivera delgado duarte zamora young venceremos opportunity best walker federal deal ramon
date george enterprise goes independence liberty quintero martin navarro morales green rojas
surprise santos franklin david superior navas elizabeth canton baena colombia mexico venezuela
flores magdalena guadalupe york orlando tela ica sucre
mobile reading bath nice split van gap bar hope wells grand ore page post mandi gold deal victoria
hamilton regina marion jackson lincoln clinton warren florence aurora bristol independence
union city park valley bay port lake river mount north south east west new old as is it
buy lowell march may june august hit shot fire lead leads will bell lancaster chester
than then there these those into over under after before during while about above below
""".split())


def ascii_lower(text):
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = folded.lower().strip()
    if not folded or any(ord(c) > 127 for c in folded):
        return None
    return folded


def main():
    with gzip.open(os.path.join(DATA, "geonames-cities15000.json.gz")) as f:
        cities = json.load(f)
    with open(os.path.join(DATA, "geonames-countries.json")) as f:
        countries = json.load(f)
    country_names = {ascii_lower(c["name"]) for c in countries.values()}
    best = {}
    for city in cities.values():
        population = city.get("population") or 0
        if population < POPULATION_MIN:
            continue
        name = ascii_lower(city["name"])
        if not name or len(name) < 3 or name in country_names:
            continue
        if " " not in name and name in COMMON_WORDS and population < 1_000_000:
            continue
        row = (
            name,
            city["countrycode"],
            round(city["latitude"], 4),
            round(city["longitude"], 4),
            population,
            city["name"],
        )
        if name not in best or best[name][4] < population:
            best[name] = row
    with open(OUT, "w", encoding="utf-8") as out:
        for name in sorted(best):
            out.write("\t".join(str(v) for v in best[name]) + "\n")
    print(f"{len(best)} place names written to {OUT}")


if __name__ == "__main__":
    main()
