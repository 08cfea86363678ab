"""Storage and search: vector segments, the chunk store, manifests, generations and the writer lock."""
