"""Stored images: decoding and re-encoding uploads, storage, signed URLs, the ``attachment``
wire object. Knows no app: ``messaging`` (message attachments) and ``rooms`` (listing
photos) each keep their own table built on ``images.models.StoredImage``."""
