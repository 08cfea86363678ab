"""Documents to chunks to index: loaders, token-aware chunking, the pipeline and the `ingest` CLI."""
