"""Bystander redaction: find the faces in a clip, blur or pixelate all but the ones the
owner keeps visible, and record the result as a derived copy that can be regenerated."""
