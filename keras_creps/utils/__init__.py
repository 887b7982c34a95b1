"""Jobs every part of the package needs, written once; imports nothing else from the package."""
