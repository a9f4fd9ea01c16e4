"""What several Rollcall processes share when ROLLCALL_REDIS_URL is set: list expansions, name
resolutions and counts in flight. Redis is a cache here, never a store: when it is down every
process counts on its own (slower, and Server information says so), and nothing is lost."""
