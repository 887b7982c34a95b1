"""CREPS networks: generator and discriminator."""
