#!/usr/bin/python3
"""trace_make.py — a small trace with designed shared prefixes for the
trace-replay test: system prompts shared by groups of conversations,
multi-turn conversations that extend their own earlier chain, a branch
off a cached prefix, requests with no reuse, a one-block request and ids
at the top of the 64-bit range.  Ids start at 10^12 so they never meet the
shipped trace's (which follow when FILE_TO_APPEND is given).

    trace_make.py OUT [FILE_TO_APPEND [LINES]]
"""
import gzip
import json
import sys

BASE = 10**12


def designed():
    reqs = []
    nxt = [BASE + 1000]

    def fresh(n):
        ids = list(range(nxt[0], nxt[0] + n))
        nxt[0] += n
        return ids

    prompts = [fresh(3) for _ in range(4)]     # 4 system prompts
    convs = []
    for c in range(12):                        # 12 conversations
        chain = prompts[c % 4] + fresh(2)
        convs.append(chain)
        reqs.append(chain[:])
    for turn in range(2):                      # two more turns each
        for c in range(12):
            convs[c] = convs[c] + fresh(1 + (c + turn) % 3)
            reqs.append(convs[c][:])
    reqs.append(convs[0][:4] + fresh(3))       # a branch off a cached prefix
    reqs.append(fresh(5))                      # no reuse
    reqs.append([prompts[1][0]])               # one cached block
    reqs.append([2**64 - 1, 2**64 - 2])        # the top of the range
    reqs.append([2**64 - 1, 2**64 - 2, 2**63])
    reqs.append(prompts[2] + fresh(1))
    reqs.append(convs[5][:])                   # a repeat: all hits
    while len(reqs) < 50:
        reqs.append(prompts[len(reqs) % 4] + fresh(1))
    return reqs


def main():
    out = sys.argv[1]
    lines = []
    for i, ids in enumerate(designed()):
        # Keys the replay does not use must be skipped, whatever they hold.
        meta = {"session": "c%d" % (i % 12), "note": "q\"}]",
                "tags": [1, -2.5e3, None, True, {"k": [[]]}]}
        lines.append(json.dumps({"meta": meta, "timestamp": i * 10,
                                 "input_length": 512 * len(ids) - 100,
                                 "output_length": 17, "hash_ids": ids}))
    if len(sys.argv) > 2:
        limit = int(sys.argv[3]) if len(sys.argv) > 3 else 300
        opener = gzip.open if sys.argv[2].endswith(".gz") else open
        with opener(sys.argv[2], "rt") as f:
            for k, line in enumerate(f):
                if k == limit:
                    break
                lines.append(line.rstrip("\n"))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


main()
