"""“Did you mean …?” for a name nobody has, at a cost that does not grow with the register.

difflib's `get_close_matches` compares the name with every known name: 0.7 s against the
12,000 name keys of a province's 4,000 units, for each unknown name of a file. `CloseNames`
indexes the names by their three-letter pieces once, picks the few names sharing the most
pieces with the unknown one, and ranks only those with difflib's own measure.
"""

import difflib
from collections import Counter, defaultdict

#: Names sharing the most pieces with the unknown one, ranked by difflib afterwards.
CANDIDATES = 30
#: A piece found in more than this share of the names tells nothing (“ubn”, “ xa”).
COMMON_SHARE = 0.2
#: Longer “names” are pasted paragraphs, not names: no suggestion is searched for them.
MAX_NAME_LENGTH = 120


def pieces(key: str) -> set[str]:
    padded = f"  {key} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class CloseNames:
    """The known names closest to an unknown one (difflib's ratio, best first)."""

    def __init__(self, names):
        self.names = list(names)
        postings = defaultdict(list)
        for number, name in enumerate(self.names):
            for piece in pieces(name):
                postings[piece].append(number)
        common = max(50, int(len(self.names) * COMMON_SHARE))
        self.postings = {piece: found for piece, found in postings.items() if len(found) <= common}

    def __call__(self, key: str, *, n: int = 3, cutoff: float = 0.6, scored: bool = False) -> list:
        """The `n` closest names, or with `scored` (ratio, name) pairs, best first."""
        if not key or len(key) > MAX_NAME_LENGTH:
            return []
        shared = Counter()
        for piece in pieces(key):
            shared.update(self.postings.get(piece, ()))
        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(key)
        ranked = []
        for number, _count in shared.most_common(CANDIDATES):
            matcher.set_seq1(self.names[number])
            ratio = matcher.ratio()
            if ratio >= cutoff:
                ranked.append((-ratio, self.names[number]))
        best = sorted(ranked)[:n]
        if scored:
            return [(-ratio, name) for ratio, name in best]
        return [name for _ratio, name in best]
