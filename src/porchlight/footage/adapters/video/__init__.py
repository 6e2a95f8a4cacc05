"""Video files: probing, decoding, trimming, in a sandbox."""
