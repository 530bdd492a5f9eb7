"""The Escrow page's parts: its tables (tables.py) and its actions (actions.py).

The page itself is gui/pages/escrow_page.py."""
