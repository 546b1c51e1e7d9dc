"""The shared base every app may import, and which imports no app: database helpers, the Redis client and
its key namespace, change announcements, and the reference data (regions, taxonomy base classes)."""
