"""Storage and search: FAISS segments, the chunk store, manifests, generations, the writer lock."""
