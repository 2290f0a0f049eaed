"""Community service hotline core: catalogue, cases, workflow, deadlines and storage.

This package imports nothing from Rasa, Telegram or the web layer; every front end goes
through it.
"""

import os

# One BLAS thread for numpy (the similar-case matcher and the hotspots), set before numpy is
# first imported. The products are small; OpenBLAS's extra threads cost more to wake than they
# save and spin while other processes want the cores: measured for a hotspot week's
# 330×600 cosine block on this project's 2-core machines, 15 ms of CPU with its default
# threads against 2.4 ms with one.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
