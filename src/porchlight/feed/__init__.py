"""The Neighbors feed: residents post clips (a blurred, derived copy) or text for people
nearby, shown at a coarse location, expiring with the clip's retention."""
