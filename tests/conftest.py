import os
import sys

from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))

# In CI, Hypothesis draws the same examples every run: a red build is reproducible, and new
# random cases come from `python -m tests.fuzz` runs on developers' machines instead.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
