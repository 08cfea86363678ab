"""Model adapters: the embedder, the generator, model resolution and device detection."""
