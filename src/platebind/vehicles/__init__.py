"""The motor-vehicle registry extract: who owns which plate, as a keyed hash of the owner's ID."""
