"""Statistics on wide survey data frames; never imports Flask or the database."""
