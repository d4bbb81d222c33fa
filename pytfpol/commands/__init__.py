"""The commands: each a library function returning a result; the CLI and the API call them."""
