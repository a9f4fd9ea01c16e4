"""Flask blueprints, thin: parse and validate, call one service, return JSON."""
