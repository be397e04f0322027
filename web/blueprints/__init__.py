"""One blueprint per area; web.create_app registers them from one list."""
