"""What providers offer: loading their catalogs, skipping broken ones, filtering and sorting (Qt-free)."""
