#!/usr/bin/python3
"""trace_expect.py — the exact prefix reuse of a JSON-lines KV-cache trace,
computed independently of fabraft-bench: requests in file order, unlimited
cache; a request's hits are its leading hash_ids that earlier requests
stored.  Prints "requests blocks hit_blocks" (standard library only).

    trace_expect.py FILE [MAX_REQUESTS]
"""
import gzip
import json
import sys


def main():
    path = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    opener = gzip.open if path.endswith(".gz") else open
    seen = set()
    requests = blocks = hits = 0
    with opener(path, "rt") as f:
        for line in f:
            if not line.strip():
                continue
            if limit and requests == limit:
                break
            ids = json.loads(line)["hash_ids"]
            k = 0
            while k < len(ids) and ids[k] in seen:
                k += 1
            requests += 1
            blocks += len(ids)
            hits += k
            seen.update(ids)
    print(requests, blocks, hits)


main()
