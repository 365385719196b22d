"""The built-in check plugins, one module per family, and their protocol codecs."""
