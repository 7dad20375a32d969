// sweep: filled in by its owner
