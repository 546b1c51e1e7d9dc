"""Enterprise-facing pages: public policy pages, the SMS link page, and a signed-in firm's own pages."""
