#!/usr/bin/env python3
"""Read the input JSON from stdin; print counts (and the most common words) as JSON."""

import collections
import json
import re
import sys

data = json.load(sys.stdin)
text = data["text"]
words = re.findall(r"[\w']+", text.lower())
top = collections.Counter(words).most_common(data.get("top", 3))
result = {
    "lines": len(text.splitlines()),
    "words": len(words),
    "chars": len(text),
    "top": [{"word": w, "count": c} for w, c in top],
}
print(json.dumps(result, sort_keys=True))
