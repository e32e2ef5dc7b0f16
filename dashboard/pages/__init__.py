"""The dashboard's pages: each module owns its layout (a function of the URL's query) and
callbacks; ``dashboard.app`` registers them."""
