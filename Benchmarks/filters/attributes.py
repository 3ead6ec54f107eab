#!/usr/bin/env python3
"""Writes generated attributes for N vectors, one JSON line each, for
`quarry ingest --vectors base.npy --attributes attrs.jsonl`: a skewed language (en 50%,
de 10%, ..., ja 1%), sites with a long tail (Zipf over 20,000 sites, some under co.uk), a
publication date over 2015-2025, and `metadata.bucket`, uniform over 0..999, whose ranges
give exact selectivities (`metadata.bucket < 5` matches 0.5%).

    python3 Benchmarks/filters/attributes.py --n 200000 --seed 1 > attrs.jsonl
"""
import argparse
import datetime
import json
import random
import sys

LANGUAGES = [("en", 50), ("de", 10), ("fr", 9), ("es", 8), ("ru", 6), ("pt", 5), ("it", 4), ("nl", 3),
             ("pl", 2), ("sv", 2), ("ja", 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    codes = [code for code, _ in LANGUAGES]
    weights = [weight for _, weight in LANGUAGES]
    sites = 20_000
    site_weights = [1 / (rank + 1) for rank in range(sites)]
    start = datetime.date(2015, 1, 1).toordinal()
    days = datetime.date(2025, 12, 31).toordinal() - start
    site_ranks = rng.choices(range(sites), weights=site_weights, k=arguments.n)
    languages = rng.choices(codes, weights=weights, k=arguments.n)
    out = sys.stdout
    for row in range(arguments.n):
        rank = site_ranks[row]
        host = f"news.site{rank}.co.uk" if rank % 7 == 3 else f"www.site{rank}.com"
        published = datetime.date.fromordinal(start + rng.randrange(days)).isoformat()
        record = {"lang": languages[row], "url": f"https://{host}/{row}",
                  "metadata": {"bucket": rng.randrange(1000), "published": published}}
        out.write(json.dumps(record, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
