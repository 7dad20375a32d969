// search: filled in by its owner
