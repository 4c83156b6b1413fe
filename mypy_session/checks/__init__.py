"""One module per check; each exposes one verb-named function that reads facts and reports."""
