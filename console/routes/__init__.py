"""The console's routers: one module per area (pages, the JSON API, Open311, the web chat).

console/app.py includes them all (``ROUTERS``). Keep this file free of imports.
"""
