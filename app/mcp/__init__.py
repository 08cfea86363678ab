"""The MCP server: ragd's search, cited answers and documents for MCP clients (stdio or HTTP)."""
