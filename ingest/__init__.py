"""Documents to chunks to index: loaders, token-aware chunking, the pipeline, the `ingest` CLI."""
