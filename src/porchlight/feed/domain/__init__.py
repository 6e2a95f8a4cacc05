"""The feed's rules: posts, comments, reports and moderation (standard library only)."""
