#!/usr/bin/env python3
"""Writes data/conll-sample.txt: a small NER corpus in CoNLL-2003 format (word POS chunk tag),
made from templates and invented names, so that trainsim-exec's BERT NER fine-tuning has a sample
to learn from without downloading anything. Run once by hand; the output is committed."""
import random

random.seed(2026)
PER = ["Ada Okafor", "Lena Marsh", "Tomas Reyes", "Ines Varga", "Kenji Sato", "Maria Lind", "Omar Haddad",
       "Priya Nair", "Jonas Berg", "Chloe Dubois", "Viktor Hale", "Amara Obi"]
ORG = ["Northwind Labs", "Bluefield Bank", "Cedar Rail", "Orbit Foods", "Kestrel Systems", "Halden University",
       "Marlow Press", "Sunpeak Energy", "Atlas Freight"]
LOC = ["Lisbon", "Nairobi", "Osaka", "Quebec", "Tallinn", "Cusco", "Bergen", "Adelaide", "Krakow", "Valparaiso"]
MISC = ["Olympic", "Nobel", "Euro", "Grand Prix", "World Cup", "Arctic Summit"]

TEMPLATES = [
    "{PER} joined {ORG} in {LOC} .",
    "{ORG} opened a new office in {LOC} on Monday .",
    "{PER} said {ORG} would report results next week .",
    "The {MISC} team from {LOC} beat the visitors 3-1 .",
    "{PER} , who leads {ORG} , arrived in {LOC} yesterday .",
    "Shares of {ORG} rose after {PER} spoke in {LOC} .",
    "{PER} won the {MISC} prize for work done at {ORG} .",
    "Officials in {LOC} met {PER} to discuss the {MISC} plan .",
    "{ORG} and {ORG} agreed to merge , {PER} told reporters .",
    "Rain delayed the {MISC} race in {LOC} .",
]
POS = {".": ".", ",": ",", "the": "DT", "a": "DT", "in": "IN", "on": "IN", "from": "IN", "for": "IN", "at": "IN",
       "after": "IN", "to": "TO", "and": "CC", "who": "WP", "would": "MD", "said": "VBD", "told": "VBD"}


def words(entity, kind):
    out = []
    for i, w in enumerate(entity.split()):
        out.append((w, "NNP", ("B-" if i == 0 else "I-") + kind))
    return out


lines = ["-DOCSTART- -X- -X- O", ""]
for _ in range(240):
    template = random.choice(TEMPLATES)
    sentence = []
    for token in template.split():
        if token.startswith("{") and token.endswith("}"):
            kind = token[1:-1]
            sentence += words(random.choice({"PER": PER, "ORG": ORG, "LOC": LOC, "MISC": MISC}[kind]), kind)
        else:
            sentence.append((token, POS.get(token.lower(), "CD" if token[0].isdigit() else "NN"), "O"))
    for w, p, tag in sentence:
        chunk = "I-NP" if p in ("NNP", "NN", "DT", "CD") else ("O" if p in (".", ",") else "B-VP")
        lines.append(f"{w} {p} {chunk} {tag}")
    lines.append("")
open("data/conll-sample.txt", "w").write("\n".join(lines))
