"""Everything that talks to GitHub: the Actions runtime files and the REST API."""
