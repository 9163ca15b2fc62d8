"""ODK submission encryption and decryption, Kobo-shaped XML↔JSON, and form key handling."""
